// Who is signed in: the pasted token and the chosen tenant, kept in this tab's sessionStorage only.

const KEY = "tripcord.session";

export function current() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

export function signIn(token, tenant) {
  const claims = readClaims(token);
  const session = { token, tenant, subject: claims.sub || "?", roles: claims.roles || [] };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export function isAdmin() {
  return (current()?.roles || []).includes("admin");
}

// What the token says of itself, to shape the page; the API decides what the caller may do.
export function readClaims(token) {
  const part = token.split(".")[1] || "";
  try {
    const padded = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    return JSON.parse(atob(padded));
  } catch {
    return {};
  }
}
