// The widget's style sheet, adopted through the CSSOM (allowed under a strict
// style-src CSP).
export const CSS = `
  .vl-widget { --vl-accent: #1a56db; font: 16px/1.45 system-ui, sans-serif; max-width: 26rem;
    padding: 1rem; border: 1px solid #8886; border-radius: .6rem; display: grid; gap: .7rem;
    box-sizing: border-box; min-width: 0; }
  .vl-widget *, .vl-widget *::before, .vl-widget *::after { box-sizing: border-box; }
  .vl-widget[hidden], .vl-widget [hidden] { display: none !important; }
  .vl-widget h2 { font-size: 1.15rem; margin: 0; }
  .vl-widget h3 { font-size: 1rem; margin: 0; }
  .vl-widget p { margin: 0; }
  .vl-widget form { display: grid; gap: .5rem; min-width: 0; }
  .vl-widget .vl-field { display: grid; gap: .2rem; min-width: 0; }
  .vl-widget label { font-weight: 600; }
  .vl-widget input, .vl-widget select, .vl-widget button { font: inherit; padding: .5rem .75rem;
    min-height: 2.75rem; max-width: 100%; min-width: 0; border-radius: .4rem;
    border: 1px solid #8889; }
  .vl-widget button { cursor: pointer; background: #eef1f5; color: #111; }
  .vl-widget .vl-primary { background: var(--vl-accent); border-color: var(--vl-accent);
    color: #fff; font-weight: 600; }
  .vl-widget .vl-danger { background: #b3261e; border-color: #b3261e; color: #fff;
    font-weight: 600; }
  .vl-widget button[aria-pressed="true"] { background: #333; color: #fff; }
  .vl-widget button:disabled { opacity: .55; cursor: not-allowed; }
  .vl-widget button:focus-visible, .vl-widget input:focus-visible,
  .vl-widget select:focus-visible { outline: 3px solid var(--vl-accent); outline-offset: 2px; }
  .vl-widget [aria-invalid="true"] { border-color: #b3261e; }
  .vl-widget .vl-error { color: #b3261e; font-weight: 600; }
  .vl-widget .vl-note { color: #555; font-size: .9rem; }
  .vl-widget .vl-actions { display: flex; flex-wrap: wrap; gap: .5rem; }
  .vl-widget .vl-actions > button { flex: 1 1 auto; }
  .vl-widget .vl-sr { position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip: rect(0 0 0 0); white-space: nowrap; }
  .vl-widget #vl-position { font-size: 1.3rem; font-weight: 700; }
  .vl-widget video { width: 100%; background: #111; border-radius: .4rem; display: block; }
  .vl-widget .vl-stage { position: relative; }
  .vl-widget #vl-remote-video { aspect-ratio: 4 / 3; object-fit: cover; }
  .vl-widget #vl-remote-screen:not([data-live]) { display: none; }
  .vl-widget #vl-remote-video:not([data-live]) { display: none; }
  .vl-widget #vl-remote-video[data-live] + #vl-local-video { position: absolute; right: .5rem;
    bottom: .5rem; width: 30%; border: 2px solid #fff; }
  .vl-widget #vl-local-video, .vl-widget #vl-preview { aspect-ratio: 4 / 3; object-fit: cover;
    transform: scaleX(-1); }  /* a self view is a mirror */
  .vl-widget meter { width: 100%; height: .8rem; }
  .vl-widget .vl-box { border: 1px solid #8886; border-radius: .5rem; padding: .7rem;
    display: grid; gap: .5rem; }
  .vl-widget #vl-cobrowse-consent { border: 2px solid var(--vl-accent); }
  .vl-widget #vl-cobrowse-on { background: #e6f4ea; border-color: #1e8e3e; }
  .vl-widget #vl-chat-log { list-style: none; margin: 0; padding: 0; max-height: 14rem;
    overflow-y: auto; display: grid; gap: .4rem; }
  .vl-widget #vl-chat-log li { padding: .35rem .6rem; border-radius: .5rem; max-width: 85%;
    overflow-wrap: anywhere; white-space: pre-wrap; background: #eef1f5; color: #111; }
  .vl-widget #vl-chat-log li[data-from="customer"] { justify-self: end; background: #dbe7ff; }
  .vl-widget .vl-chat-who { font-weight: 600; font-size: .8rem; margin-right: .4rem; }
  .vl-widget .vl-chat-at { font-size: .75rem; color: #555; }
  .vl-widget #vl-chat-form { display: flex; gap: .4rem; }
  .vl-widget #vl-chat-input { flex: 1 1 auto; }
  .vl-widget.vl-kiosk { position: fixed; inset: 0; z-index: 2147483000; max-width: none;
    border: 0; border-radius: 0; overflow-y: auto; font-size: 22px; padding: 2rem;
    background: #fff; color: #111; align-content: start; }
  .vl-widget.vl-kiosk > * { max-width: 48rem; width: 100%; justify-self: center; }
  .vl-widget.vl-kiosk h2 { font-size: 2rem; }
  .vl-widget.vl-kiosk input, .vl-widget.vl-kiosk select,
  .vl-widget.vl-kiosk button { min-height: 4rem; font-size: 1.1em; padding: .8rem 1.2rem; }
  .vl-widget.vl-kiosk .vl-primary { min-height: 5rem; font-size: 1.3em; }
  .vl-widget.vl-kiosk #vl-chat-log { max-height: 30vh; }`;

export function addStyles() {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);  // CSSOM: allowed under a strict style-src CSP
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch (e) { /* an old browser: unstyled but working */ }
}
