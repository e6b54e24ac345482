/**
 * bambucam's `http.users` token on a URL (`?token=`), for what cannot send an Authorization header:
 * an <img>, a <video>'s segments, a WebSocket. Used by the page and the card alike.
 */
export function withToken(url: string, token: string | null): string {
  return token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
}
