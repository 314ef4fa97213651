// Paying by card with Stripe.js: saving a card (a SetupIntent confirmed with
// stripe.confirmCardSetup) and confirming a payment with the bank (3-D Secure, with
// stripe.confirmCardPayment). Card numbers go from Stripe's fields straight to Stripe;
// the server only ever sees which set-up or payment it was, and asks Stripe what happened.
import { ErrorSummary } from "/static/govuk/govuk-frontend.min.js";

const CHECK_DETAILS = "Enter your card details: the card number, expiry date, security code and postcode";
const NOT_LOADED = "Card payments could not be loaded. Check your internet connection, then reload the page";

function errorSummary(message, href) {
  const summary = document.createElement("div");
  summary.className = "govuk-error-summary";
  summary.setAttribute("data-module", "govuk-error-summary");
  const alert = document.createElement("div");
  alert.setAttribute("role", "alert");
  const title = document.createElement("h2");
  title.className = "govuk-error-summary__title";
  title.textContent = "There is a problem";
  const body = document.createElement("div");
  body.className = "govuk-error-summary__body";
  const list = document.createElement("ul");
  list.className = "govuk-list govuk-error-summary__list";
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = href;
  link.textContent = message;
  item.append(link);
  list.append(item);
  body.append(list);
  alert.append(title, body);
  summary.append(alert);
  return summary;
}

// Show a problem the way GOV.UK pages do: an error summary (focused), the message by the
// card fields, and "Error: " at the start of the page title.
function showError(form, message) {
  const group = form.querySelector("[data-card-group]");
  if (group) {
    group.classList.add("govuk-form-group--error");
    const inline = group.querySelector("#card-error");
    inline.querySelector("[data-card-error-text]").textContent = message;
    inline.hidden = false;
  }
  const holder = document.querySelector("[data-card-errors]");
  const summary = errorSummary(message, group ? "#card-element" : "#main-content");
  holder.replaceChildren(summary);
  new ErrorSummary(summary);
  if (!document.title.startsWith("Error: ")) {
    document.title = `Error: ${document.title}`;
  }
}

// WTForms names the submit button "submit", which hides form.submit(): call the real one.
function send(form) {
  HTMLFormElement.prototype.submit.call(form);
}

function busy(form, on) {
  const button = form.querySelector("button[type=submit], input[type=submit]");
  if (button) {
    button.disabled = on;
    button.setAttribute("aria-disabled", String(on));
  }
}

// The bank refused the card: the server asks Stripe and explains in its own words.
function isDecline(error) {
  return error.type === "card_error" || Boolean(error.decline_code) || error.code === "card_declined";
}

function setUpCardEntry(form) {
  if (typeof window.Stripe !== "function") {
    showError(form, NOT_LOADED);
    return;
  }
  const stripe = window.Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card", {
    hidePostalCode: false,
    style: { base: { fontFamily: "arial, sans-serif", fontSize: "19px", color: "#0b0c0c" }, invalid: { color: "#d4351c" } },
  });
  card.mount("#card-element");
  const element = form.querySelector("#card-element");
  card.on("focus", () => element.classList.add("app-card-element--focused"));
  card.on("blur", () => element.classList.remove("app-card-element--focused"));

  let working = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (working) {
      return;
    }
    if (!form.querySelector("input[name=route]:checked")) {
      send(form); // the server says what is missing
      return;
    }
    working = true;
    busy(form, true);
    let result;
    try {
      result = await stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card } });
    } catch (error) {
      result = { error };
    }
    const error = result && result.error;
    if (!error || isDecline(error)) {
      send(form); // the server checks with Stripe and saves the card, or says why not
      return;
    }
    working = false;
    busy(form, false);
    showError(form, error.type === "validation_error" && error.message ? error.message : CHECK_DETAILS);
  });
}

function setUpBankConfirmation(form) {
  if (typeof window.Stripe !== "function") {
    showError(form, NOT_LOADED);
    return;
  }
  const stripe = window.Stripe(form.dataset.publishableKey);
  let working = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (working) {
      return;
    }
    working = true;
    busy(form, true);
    try {
      await stripe.confirmCardPayment(form.dataset.clientSecret);
    } catch (error) {
      // Whatever happened, the server asks Stripe for the payment's state next.
    }
    send(form);
  });
}

const entry = document.querySelector("form[data-card-setup]");
if (entry) {
  setUpCardEntry(entry);
}
const confirmation = document.querySelector("form[data-card-payment]");
if (confirmation) {
  setUpBankConfirmation(confirmation);
}
