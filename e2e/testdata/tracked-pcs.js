// Every PeerConnection the SDK makes is kept, so a test reads the
// browser's own statistics (decoded frames, received audio) whatever the
// SDK reports. Load it before the SDK.
(() => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  function Tracked(...args) {
    const pc = new Native(...args);
    pcs.push(pc);
    return pc;
  }
  Tracked.prototype = Native.prototype;
  Object.setPrototypeOf(Tracked, Native);
  window.RTCPeerConnection = Tracked;
  window.trackedPeerConnections = pcs;
})();
