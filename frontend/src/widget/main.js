/* vidline customer widget: one file, embeddable with one tag:
 *
 *   <div id="help"></div>
 *   <script src="https://vidline.example.com/widget/vidline.js" data-target="#help"
 *           data-categories="billing,technical" data-customer-id="C-1042"
 *           data-kiosk="Lobby 2" data-extra='{"plan":"gold"}' defer></script>
 *
 * Attributes (all optional; the page URL is added to the request automatically):
 *   data-target         where the widget renders (default: a new element after the tag)
 *   data-customer-id    the customer's number, known to the site (the field is then hidden)
 *   data-phone          the customer's phone number (the field is then hidden)
 *   data-categories     comma list: the topics offered here, a subset of the configured ones;
 *                       one topic hides the picker
 *   data-category       the topic selected first
 *   data-kiosk          the kiosk location sent with the request
 *   data-extra          a JSON object of extra string values
 *   data-lang           the language (default: the browser's; English when not translated)
 *   data-device-check   "auto" (default: the call starts at once when camera and microphone
 *                       work, the check stops only to explain a problem) | "always" (the
 *                       customer sees the preview and presses "Start video chat")
 *   data-hidden         render hidden until Vidline.open() is called
 *   data-kiosk-mode     kiosk mode: full screen, large touch targets, resets itself
 *                       data-kiosk-reset seconds (default 120) after the last touch and
 *                       data-kiosk-after-call seconds (default 15) after a call; without
 *                       data-kiosk, the page's ?kiosk= parameter is the location
 *                       (see kiosk.html beside this file)
 *
 * JS API (window.Vidline; every method may be called before the widget has loaded):
 *   Vidline.open(context?)       show the widget (and set the context) -> Promise<state>
 *   Vidline.call(context?)       open and start the call (device check, then the line)
 *   Vidline.hangup()             leave the line / end the call
 *   Vidline.reset()              back to an empty form (ends a running call)
 *   Vidline.close()              hide the widget (when no call is running)
 *   Vidline.setContext(context)  context keys: customerId, phone, categories (array),
 *                                category, kioskLocation, extra (object of strings)
 *   Vidline.on(event, fn) / Vidline.off(event, fn); Vidline.state
 *   events: "state" {state, reason?}, "devices" {state, problem?, audio, video},
 *           "chat" (a chat message), "cobrowse" {state: asked|on|off|declined},
 *           "ended" {reason}, "reset" {}
 *
 * Stable element ids (browser tests rely on them):
 *   #vl-widget       the root; data-state = form | devices | sending | created | originating |
 *                    queued | ringing | connected | ended | error; data-kiosk = true in kiosk
 *                    mode; data-resets = how many times the kiosk reset itself
 *   #vl-intro        the kiosk's welcome line (kiosk mode only)
 *   #vl-form         the request form: #vl-customer-id, #vl-phone, #vl-category, #vl-check
 *                    (test camera and microphone first), #vl-submit; each field in a
 *                    #<field id>-field wrapper (hidden when the site gives the value)
 *   #vl-error        the form's error message (role=alert); data-field = the refused field
 *   #vl-devices      the device check; data-state = checking | ok | problem, data-problem =
 *                    denied | nodevice | busy | insecure | failed; #vl-preview, #vl-mic-level,
 *                    #vl-devices-message, #vl-devices-help, #vl-call (start),
 *                    #vl-devices-retry, #vl-devices-continue (audio only / without devices),
 *                    #vl-devices-back
 *   #vl-status       the live status region (role=status); data-state as #vl-widget;
 *                    contains #vl-message, #vl-position ("N of M in line"), #vl-wait
 *   #vl-hangup       hang up / leave the line
 *   #vl-restart      shown once ended: back to the form
 *   #vl-media        the call's media; data-state = off | starting | negotiating | live |
 *                    failed | ended
 *   #vl-local-video  the customer's own camera (muted preview)
 *   #vl-remote-video the agent's camera; #vl-remote-screen the agent's shared screen
 *   #vl-remote-audio what the PBX sends: music on hold, announcements, the agent's voice
 *   #vl-mute, #vl-camera  microphone / camera off (aria-pressed = true while off)
 *   #vl-share        start / stop sharing the customer's screen; data-sharing = true | false
 *   #vl-media-error  the last media problem (role=alert)
 *   #vl-chat         the chat (hidden until connected; stays readable after the call):
 *                    #vl-chat-log (<ol>, <li data-from="customer|agent" data-id=n>),
 *                    #vl-chat-form, #vl-chat-input, #vl-chat-send, #vl-chat-typing,
 *                    #vl-chat-error
 *   #vl-cobrowse-consent  the agent's request to see this page: #vl-cobrowse-accept,
 *                    #vl-cobrowse-decline; #vl-cobrowse-on (shown while on): #vl-cobrowse-stop
 *
 * Media (WebRTC to vidline's bridge, which answers; this page always offers): m-lines in
 * this order: audio (mic), video[0] camera both ways, video[1] the agent's screen
 * (receive only), video[2] this page's screen (added when sharing starts). One ordered
 * data channel "vidline" carrying JSON {"t": kind, ...}; kinds cobrowse-* (and "chunk"
 * pieces) go to cobrowse.js, loaded from beside this file when the agent asks and the
 * customer accepts. window.vidlineMedia exposes the peer connection, the channel and
 * send(text) (split under the peer's maximum message size).
 *
 * Strings: every customer-visible text is in the EN catalogue below (the source of
 * truth). A translation is a JSON file strings/<lang>.json beside this file with the
 * same keys ("{name}" placeholders kept); missing keys fall back to English. The server
 * picks the language from the browser's list (GET /api/v1/config/public?lang=...).
 * Text is only ever set as text, never as markup.
 */
// The entry module: esbuild bundles it and the modules beside it into
// plugin/vidline/widget/static/vidline.js (one IIFE; frontend/build.mjs), with
// the comment above as the bundle's banner. The modules:
//   strings.js   the English catalogue (EN) and t()
//   styles.js    the widget's style sheet
//   env.js       the embedding tag (document.currentScript), context and shared state
//   dom.js       element helpers, events (emit), focusables
//   layout.js    the widget's DOM (build)
//   view.js      state, status and form error display (ARIA, focus)
//   context.js   the public configuration and the request's context
//   devices.js   the camera and microphone check
//   request.js   the request, the live status and the customer WebSocket
//   chat.js      chat
//   cobrowse.js  co-browsing consent (loads cobrowse.js beside the bundle)
//   media.js     WebRTC to the bridge
//   actions.js   hang up, start a call, reset
//   kiosk.js     kiosk mode
//   mount.js     wiring and mounting
//   api.js       window.Vidline
import { install } from "./api.js";

if (!(window.Vidline && window.Vidline.version)) install();  // the tag twice: one widget
