// The signed-in user's bearer token. It arrives in a sign-in link's fragment
// (`/#signin=<token>`, never sent to any server or written to a log) or is pasted on the
// sign-in page, and is kept in this browser's local storage until sign-out or expiry.

const KEY = "fieldline.token";

/** Takes a token from the address's `#signin=` fragment, removing it from the address bar. */
export function takeTokenFromAddress(): string | null {
  const match = /(?:^#|&)signin=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return null;
  const token = decodeURIComponent(match[1]);
  history.replaceState(null, "", window.location.pathname + window.location.search);
  return token;
}

/** A pasted sign-in link or bare token, as the token alone. */
export function tokenFromInput(input: string): string | null {
  const text = input.trim();
  const fromLink = /signin=([^&\s]+)/.exec(text);
  const token = fromLink?.[1] ? decodeURIComponent(fromLink[1]) : text;
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token) ? token : null;
}

export function storedToken(): string | null {
  return localStorage.getItem(KEY);
}

export function keepToken(token: string): void {
  localStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  localStorage.removeItem(KEY);
}
