// Copies the GOV.UK Frontend JavaScript and images we serve into static/govuk/.
// Run by `npm run build` (the Makefile calls it); the output is not committed.
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..", "..");
const dist = path.join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const out = path.join(root, "static", "govuk");

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, "assets"), { recursive: true });
for (const file of ["govuk-frontend.min.js"]) {
  fs.copyFileSync(path.join(dist, file), path.join(out, file));
}
fs.cpSync(path.join(dist, "assets", "images"), path.join(out, "assets", "images"), { recursive: true });
console.log("GOV.UK Frontend assets copied to static/govuk/");
