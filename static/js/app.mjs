// Starts the GOV.UK Frontend components on every page (accordion, error summary, etc.).
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();
