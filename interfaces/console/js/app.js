// The console's router: one view per hash, each drawn from the public API.

import { api } from "./api.js";
import { h, problem, show } from "./dom.js";
import { dispatchesView } from "./dispatches.js";
import { historyView } from "./history.js";
import { liveView } from "./live.js";
import { lookupView } from "./lookup.js";
import { current, signIn, signOut } from "./session.js";
import { triggerFormView } from "./trigger_form.js";
import { dryRunView, triggersView } from "./triggers.js";

const ROUTES = [ // a view's own settings ride after a "?" in the hash
  [/^#\/triggers(?:\?.*)?$/, triggersView],
  [/^#\/triggers\/new$/, () => triggerFormView(null)],
  [/^#\/triggers\/([\w-]+)\/edit$/, (id) => triggerFormView(id)],
  [/^#\/triggers\/([\w-]+)\/test$/, dryRunView],
  [/^#\/triggers\/([\w-]+)\/history$/, historyView],
  [/^#\/live$/, liveView],
  [/^#\/lookup(?:\?.*)?$/, lookupView],
  [/^#\/dispatches(?:\?.*)?$/, dispatchesView],
];

let leaving = null; // what the current view must stop (the live stream) before another is drawn

async function route() {
  if (leaving) {
    leaving();
    leaving = null;
  }
  const session = current();
  document.getElementById("nav").hidden = !session;
  const who = document.getElementById("who");
  who.hidden = !session;
  if (!session) {
    signInView();
    return;
  }
  who.replaceChildren(h("span", {}, `${session.subject} · ${session.roles.join(", ") || "no role"} · tenant `),
    h("strong", {}, session.tenant), " ",
    h("button", { type: "button", class: "link", onclick: () => { signOut(); location.hash = "#/signin"; route(); } },
      "Sign out"));
  const hash = location.hash || "#/triggers";
  for (const link of document.querySelectorAll("#nav a")) {
    link.toggleAttribute("aria-current", hash.startsWith(link.getAttribute("href")));
  }
  for (const [pattern, view] of ROUTES) {
    const match = hash.match(pattern);
    if (match) {
      try {
        leaving = await view(...match.slice(1)) || null;
      } catch (error) {
        show(problem(error));
      }
      document.getElementById("view").focus({ preventScroll: true });
      return;
    }
  }
  location.hash = "#/triggers";
}

function signInView() {
  const token = h("textarea", { name: "token", id: "token", rows: 4, required: true, autocomplete: "off",
    spellcheck: "false", placeholder: "eyJhbGciOiJIUzI1NiIs…" });
  const tenant = h("input", { name: "tenant", id: "tenant", required: true, pattern: "[A-Za-z0-9_\\-]{1,64}",
    autocomplete: "off", placeholder: "my-tenant" });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card narrow", onsubmit: async (event) => {
    event.preventDefault();
    status.replaceChildren(h("p", { class: "loading" }, "Checking the token…"));
    signIn(token.value.trim(), tenant.value.trim());
    try {
      await api("GET", "/triggers", { query: { limit: 1 } });
    } catch (error) {
      signOut();
      status.replaceChildren(problem(error));
      return;
    }
    location.hash = "#/triggers";
    route();
  } },
  h("h1", {}, "Sign in"),
  h("p", {}, "Paste a token (", h("code", {}, "tripcord token --tenant T --role admin"),
    ") and the tenant to work on. It stays in this tab only."),
  h("div", { class: "field" }, h("label", { for: "token" }, "Token"), token),
  h("div", { class: "field" }, h("label", { for: "tenant" }, "Tenant"), tenant),
  h("button", { type: "submit", class: "primary" }, "Sign in"), status);
  show(form);
  token.focus();
}

window.addEventListener("hashchange", route);
route();
