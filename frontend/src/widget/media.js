// WebRTC to vidline's bridge (this page always offers; see main.js for the
// m-line order), the data channel, mute / camera / screen sharing.
import { endCobrowse, onChannelMessage } from "./cobrowse.js";
import { dropPlan, probeDevices } from "./devices.js";
import { stopStream } from "./dom.js";
import { st, ui } from "./env.js";
import { t } from "./strings.js";

// -- media ------------------------------------------------------------------

// data channel messages go out in parts under the peer's maximum message size,
// split on character boundaries; an ordered reliable channel keeps them in order
export function sendParts(peer, dc, text) {
  const max = (peer.sctp && peer.sctp.maxMessageSize) || 65536;
  const encoder = new TextEncoder();
  let part = "";
  let size = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    if (size + n > max) { dc.send(part); part = ""; size = 0; }
    part += ch;
    size += n;
  }
  if (part || !text) dc.send(part);
}

export function setMedia(state) { ui.media.dataset.state = state; ui.media.hidden = state === "off"; }
export function showMediaError(text) {
  ui.mediaError.textContent = typeof text === "string" ? text : "";
  ui.mediaError.hidden = !ui.mediaError.textContent;
}

export function preferCodec(transceiver, codec) {
  // the bridge forwards video without transcoding: both legs must use its one codec
  // (H264: packetization-mode 1, constrained baseline first)
  const caps = RTCRtpReceiver.getCapabilities ? RTCRtpReceiver.getCapabilities("video") : null;
  if (!caps || !transceiver.setCodecPreferences) return;
  const name = "video/" + String(codec || "VP8").toLowerCase();
  const rank = (c) => {
    if (/rtx/i.test(c.mimeType)) return 3;
    if (c.mimeType.toLowerCase() !== name) return 9;
    const fmtp = c.sdpFmtpLine || "";
    if (name !== "video/h264") return 0;
    if (!/packetization-mode=1/.test(fmtp)) return 9;
    return /profile-level-id=42e0/.test(fmtp) ? 1 : 2;
  };
  const chosen = caps.codecs.filter((c) => rank(c) < 9).sort((a, b) => rank(a) - rank(b));
  if (chosen.some((c) => rank(c) < 3)) transceiver.setCodecPreferences(chosen);
}

export function gathered() {
  if (st.pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (st.pc.iceGatheringState === "complete") {
        st.pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
    };
    st.pc.addEventListener("icegatheringstatechange", check);
  });
}

export function negotiate() {
  // offers go out one at a time; each waits for its answer
  st.negotiating = st.negotiating.then(async () => {
    if (!st.pc || !st.socket || st.socket.readyState !== WebSocket.OPEN) return;
    setMedia("negotiating");
    await st.pc.setLocalDescription(await st.pc.createOffer());
    await gathered();  // the bridge takes no trickled candidates
    const answer = new Promise((resolve) => { st.answered = resolve; });
    st.socket.send(JSON.stringify({ type: "offer", sdp: st.pc.localDescription.sdp }));
    await answer;
  }).catch(() => { setMedia("failed"); showMediaError(t("mediaFailed")); });
  return st.negotiating;
}

export async function onAnswer(msg) {
  if (!st.pc) return;
  try {
    await st.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
    setMedia("live");
  } catch (e) {
    setMedia("failed");
    showMediaError(t("mediaFailed"));
  }
  if (st.answered) { st.answered(); st.answered = null; }
}

export async function startMedia(cfg) {
  if (st.pc || st.ended) return;
  st.videoCodec = cfg.video_codec || "VP8";
  setMedia("starting");
  if (st.plan) {
    st.local = st.plan.stream;  // what the device check chose (maybe nothing)
    if (!st.local && !st.plan.audio && !st.plan.video) showMediaError(t("noDevices"));
    st.plan = null;
  } else {
    // a reload mid-call: whatever still works (audio only, say), without asking again
    st.local = (await probeDevices()).stream;
    if (!st.local) showMediaError(t("noDevices"));
  }
  if (st.ended) { stopMedia(); return; }
  ui.localVideo.srcObject = st.local;
  st.pc = new RTCPeerConnection(cfg.rtc || {});
  const mic = st.local && st.local.getAudioTracks()[0];
  const cam = st.local && st.local.getVideoTracks()[0];
  ui.mute.disabled = !mic;
  ui.camera.disabled = !cam;
  ui.localVideo.hidden = !cam;
  st.pc.addTransceiver(mic || "audio", { direction: "sendrecv" });
  const camera = st.pc.addTransceiver(cam || "video", { direction: cam ? "sendrecv" : "recvonly" });
  preferCodec(camera, st.videoCodec);
  preferCodec(st.pc.addTransceiver("video", { direction: "recvonly" }), st.videoCodec);
  st.channel = st.pc.createDataChannel("vidline", { ordered: true });
  st.channel.addEventListener("message", onChannelMessage);
  const peer = st.pc;
  const dc = st.channel;
  window.vidlineMedia = { pc: st.pc, channel: st.channel,
    send: (text) => sendParts(peer, dc, String(text)) };
  st.pc.addEventListener("track", (event) => {
    const stream = new MediaStream([event.track]);
    if (event.track.kind === "audio") { ui.remoteAudio.srcObject = stream; return; }
    const videos = peer.getTransceivers().filter((x) => x.receiver.track.kind === "video");
    const index = videos.indexOf(event.transceiver);
    const node = index === 0 ? ui.remoteVideo : index === 1 ? ui.remoteScreen : null;
    if (!node) return;
    // the m-lines are there from the start (in line, the agent's screen when
    // nothing is shared): a picture shows only while its frames come
    node.srcObject = stream;
    const live = (on) => { if (on) node.dataset.live = "true"; else delete node.dataset.live; };
    event.track.addEventListener("unmute", () => live(true));
    event.track.addEventListener("mute", () => live(false));
    live(!event.track.muted);
  });
  st.pc.addEventListener("connectionstatechange", () => {
    if (st.pc === peer && peer.connectionState === "failed") {
      setMedia("failed");
      showMediaError(t("mediaFailed"));
    }
  });
  negotiate();
}

export function toggleTrack(kind) {
  const track = st.local && (kind === "audio" ? st.local.getAudioTracks()[0]
    : st.local.getVideoTracks()[0]);
  if (!track) return;
  track.enabled = !track.enabled;  // the m-line stays: the agent sees black / hears silence
  const node = kind === "audio" ? ui.mute : ui.camera;
  node.setAttribute("aria-pressed", String(!track.enabled));
  node.textContent = kind === "audio" ? t(track.enabled ? "mute" : "unmute")
    : t(track.enabled ? "cameraOff" : "cameraOn");
}

export async function toggleShare() {
  if (!st.pc) return;
  if (st.screenSender) {  // stop: the m-line stays, inactive, so the layout never shifts
    const track = st.screenSender.track;
    if (track) track.stop();
    await st.screenSender.replaceTrack(null);
    const x = st.pc.getTransceivers().find((y) => y.sender === st.screenSender);
    if (x) x.direction = "inactive";
    st.screenSender = null;
    ui.share.dataset.sharing = "false";
    ui.share.textContent = t("share");
    return negotiate();
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (e) {
    return;  // the customer cancelled the picker
  }
  const track = stream.getVideoTracks()[0];
  const videos = st.pc.getTransceivers().filter((x) => x.receiver.track.kind === "video");
  let transceiver = videos[2];
  if (transceiver) {
    await transceiver.sender.replaceTrack(track);
    transceiver.direction = "sendonly";
  } else {
    transceiver = st.pc.addTransceiver(track, { direction: "sendonly" });
    preferCodec(transceiver, st.videoCodec);
  }
  st.screenSender = transceiver.sender;
  track.addEventListener("ended", () => { if (st.screenSender) toggleShare(); });
  ui.share.dataset.sharing = "true";
  ui.share.textContent = t("stopShare");
  return negotiate();
}

export function stopMedia() {
  endCobrowse(true);
  stopStream(st.local);
  if (st.screenSender && st.screenSender.track) st.screenSender.track.stop();
  if (st.pc) st.pc.close();
  st.pc = null;
  st.local = null;
  st.screenSender = null;
  st.channel = null;
  dropPlan();
  ui.share.dataset.sharing = "false";
  ui.share.textContent = t("share");
  for (const [node, key] of [[ui.mute, "mute"], [ui.camera, "cameraOff"]]) {
    node.setAttribute("aria-pressed", "false");
    node.textContent = t(key);
  }
  if (ui.media.dataset.state !== "off") setMedia("ended");
}
