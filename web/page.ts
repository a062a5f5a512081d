// The demo page's shared bits of DOM: element lookup, the banner, which view shows.

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

let bannerTimer: ReturnType<typeof setTimeout> | null = null;
export function banner(text: string | null, kind: 'info' | 'error' = 'info', hideAfterMs = 0): void {
  const el = $('banner');
  if (bannerTimer) clearTimeout(bannerTimer);
  el.hidden = text === null;
  el.textContent = text ?? '';
  el.classList.toggle('error', kind === 'error');
  if (text && hideAfterMs) bannerTimer = setTimeout(() => banner(null), hideAfterMs);
}

export function showView(view: 'lobby' | 'call' | 'left'): void {
  for (const id of ['lobby', 'call', 'left']) $(id).hidden = id !== view;
}
