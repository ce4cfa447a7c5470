// The device check: which of camera and microphone work, a preview and a level
// meter, and the plan the call then uses.
import { emit, stopStream } from "./dom.js";
import { VIDEO, st, ui } from "./env.js";
import { kioskArm } from "./kiosk.js";
import { request } from "./request.js";
import { t } from "./strings.js";
import { setState, showError } from "./view.js";

// -- the device check ---------------------------------------------------------

export function deviceProblem(e) {
  const name = e && e.name;
  if (["NotAllowedError", "PermissionDeniedError", "SecurityError"].includes(name)) {
    return "denied";
  }
  if (["NotFoundError", "DevicesNotFoundError", "OverconstrainedError"].includes(name)) {
    return "nodevice";
  }
  if (["NotReadableError", "TrackStartError", "AbortError"].includes(name)) return "busy";
  return "failed";
}

export async function tryMedia(constraints) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints) };
  } catch (e) {
    return { problem: deviceProblem(e) };
  }
}

export async function probeDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, audio: false, video: false, problem: "insecure", missing: "both" };
  }
  const both = await tryMedia({ audio: true, video: VIDEO });
  if (both.stream) return { stream: both.stream, audio: true, video: true, problem: null };
  // which one fails? The customer may go on with the other
  const audio = await tryMedia({ audio: true });
  if (audio.stream) {
    return { stream: audio.stream, audio: true, video: false, problem: both.problem,
      missing: "camera" };
  }
  const video = await tryMedia({ video: VIDEO });
  if (video.stream) {
    return { stream: video.stream, audio: false, video: true, problem: audio.problem,
      missing: "microphone" };
  }
  return { stream: null, audio: false, video: false, problem: audio.problem || both.problem,
    missing: "both" };
}

export function startMeter(stream) {
  stopMeter();
  const track = stream && stream.getAudioTracks()[0];
  ui.level.hidden = !track;
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!track || !Context) return;
  const audio = new Context();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  const tick = () => {
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    for (const v of samples) peak = Math.max(peak, Math.abs(v));
    ui.level.value = Math.min(1, peak * 2);
    frame = requestAnimationFrame(tick);
  };
  tick();
  st.meterStop = () => { cancelAnimationFrame(frame); audio.close().catch(() => {}); };
}

export function stopMeter() {
  if (st.meterStop) st.meterStop();
  st.meterStop = null;
}

export function releaseProbe() {
  st.checkRun += 1;  // a check still running drops its result
  stopMeter();
  if (st.probe) stopStream(st.probe.stream);
  st.probe = null;
  ui.preview.srcObject = null;
}

export async function runCheck(auto) {
  releaseProbe();
  const run = st.checkRun;
  showError("");
  ui.devices.dataset.state = "checking";  // first: a kiosk does not count this as idle
  setState("devices");
  delete ui.devices.dataset.problem;
  ui.devicesMessage.textContent = t("checking");
  ui.devicesHelp.hidden = true;
  ui.devicesNote.hidden = true;
  ui.preview.hidden = true;
  ui.level.hidden = true;
  for (const b of [ui.call, ui.retry, ui.continue]) b.hidden = true;
  emit("devices", { state: "checking" });
  const result = await probeDevices();
  if (run !== st.checkRun || ui.root.dataset.state !== "devices") {
    stopStream(result.stream);  // the customer went back meanwhile
    return;
  }
  st.probe = result;
  ui.preview.hidden = !result.video;
  ui.preview.srcObject = result.video ? result.stream : null;
  startMeter(result.stream);
  emit("devices", { state: result.problem ? "problem" : "ok", problem: result.problem,
    audio: result.audio, video: result.video });
  if (!result.problem) {
    if (auto) { callWith(); return; }
    ui.devices.dataset.state = "ok";
    kioskArm();
    ui.devicesMessage.textContent = t("devicesOk");
    ui.call.hidden = false;
    ui.call.focus();
    return;
  }
  const cap = result.problem[0].toUpperCase() + result.problem.slice(1);
  const device = t({ camera: "deviceCamera", microphone: "deviceMicrophone" }[result.missing]
    || "deviceBoth");
  ui.devices.dataset.state = "problem";
  kioskArm();
  ui.devices.dataset.problem = result.problem;
  ui.devicesMessage.textContent = t("problem" + cap, { device });
  ui.devicesHelp.textContent = t("help" + cap, { device });
  ui.devicesHelp.hidden = false;
  ui.devicesNote.textContent = t(result.audio ? "noCameraNote" : result.video ? "noMicNote"
    : "noDevicesNote");
  ui.devicesNote.hidden = false;
  ui.continue.textContent = result.audio ? t("continueAudio")
    : result.video ? t("continueVideo") : t("continueNone");
  ui.retry.hidden = result.problem === "insecure";
  ui.continue.hidden = false;
  (ui.retry.hidden ? ui.continue : ui.retry).focus();
}

export function callWith() {
  const chosen = st.probe || { stream: null, audio: false, video: false };
  stopMeter();
  st.probe = null;
  ui.preview.srcObject = null;
  st.plan = { stream: chosen.stream, audio: chosen.audio, video: chosen.video };
  request();
}

export function dropPlan() {
  if (st.plan) stopStream(st.plan.stream);
  st.plan = null;
}
