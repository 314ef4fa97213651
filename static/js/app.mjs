// Starts the GOV.UK Frontend components on every page (accordion, error summary, etc.).
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();

// Radios that reveal more questions (GOV.UK's conditional reveal), without the aria-expanded
// GOV.UK Frontend puts on each radio: a radio may not carry it (WCAG 4.1.2, axe's
// aria-allowed-attr). aria-controls still ties each radio to what it reveals.
for (const group of document.querySelectorAll('[data-module="app-reveal"]')) {
  const inputs = [...group.querySelectorAll('input[type="radio"]')];
  const sync = () => {
    for (const input of inputs) {
      const target = document.getElementById(input.getAttribute("aria-controls") || "");
      if (target) target.classList.toggle("govuk-radios__conditional--hidden", !input.checked);
    }
  };
  for (const input of inputs) {
    const id = input.getAttribute("data-aria-controls");
    if (id && document.getElementById(id)) {
      input.setAttribute("aria-controls", id);
      input.removeAttribute("data-aria-controls");
    }
    input.addEventListener("change", sync);
  }
  sync();
}
