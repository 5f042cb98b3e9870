// Building the page: every string a user or an event supplied goes in as text, never as markup.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// replaceChildren() would print a null child as the text "null"; this skips it.
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function show(...children) {
  return fill(document.getElementById("view"), ...children);
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

export function problem(error) {
  const details = (error.details || []).map((d) => h("li", {}, h("code", {}, d.path), " ", d.message));
  return h("div", { class: "problem", role: "alert" }, h("strong", {}, error.message || String(error)),
    details.length ? h("ul", {}, details) : null);
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}

// Times come from the API in UTC; people read them in their browser's zone.
export function when(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  return h("time", { datetime: iso, title: iso }, at.toLocaleString());
}

export function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function field(label, control, hint) {
  const id = control.id || (control.id = `f-${Math.random().toString(36).slice(2, 9)}`);
  const errors = h("div", { class: "field-errors", id: `${id}-errors`, "aria-live": "polite" });
  control.setAttribute("aria-describedby", `${id}-errors`);
  return h("div", { class: "field", "data-field": control.name || "" },
    h("label", { for: id }, label), control, hint ? h("small", { class: "hint" }, hint) : null, errors);
}

export function table(headings, rows, options = {}) {
  if (!rows.length) return empty(options.empty || "Nothing to show.");
  return h("div", { class: "table-wrap" }, h("table", { class: options.class || "" },
    h("thead", {}, h("tr", {}, headings.map((heading) => h("th", { scope: "col" }, heading)))),
    h("tbody", {}, rows)));
}

export function badge(text, kind = text) {
  return h("span", { class: `badge badge-${kind}` }, text);
}
