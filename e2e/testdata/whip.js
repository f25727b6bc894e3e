// Minimal WHIP/WHEP clients for the browser tests. The page gets its
// endpoint and token from its own query string.
const params = new URLSearchParams(location.search);

function iceComplete(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise(resolve => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, 2000); // answer with what we have
  });
}

async function exchange(pc, url) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await iceComplete(pc);
  const r = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + params.get('token')},
    body: pc.localDescription.sdp,
  });
  const body = await r.text();
  if (r.status !== 201) throw new Error('HTTP ' + r.status + ': ' + body);
  await pc.setRemoteDescription({type: 'answer', sdp: body});
  return r.headers.get('Location');
}

async function publish() {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 720, frameRate: 30}, audio: true});
  document.querySelector('video').srcObject = stream;
  const pc = new RTCPeerConnection();
  for (const t of stream.getTracks()) pc.addTransceiver(t, {direction: 'sendonly'});
  window.pc = pc;
  window.location_ = await exchange(pc, params.get('url'));
  return 'ok';
}

async function play() {
  const pc = new RTCPeerConnection();
  // As some players do, the viewer offers a data channel too, and first,
  // so that its section is the offer's BUNDLE tag: trtcd's answer rejects
  // it, and the media must play all the same.
  window.dataChannel = pc.createDataChannel('chat');
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.addTransceiver('audio', {direction: 'recvonly'});
  const stream = new MediaStream();
  pc.ontrack = e => { stream.addTrack(e.track); document.querySelector('video').srcObject = stream; };
  window.pc = pc;
  window.location_ = await exchange(pc, params.get('url'));
  return 'ok';
}

// stats sums what the tests look at, per kind and direction.
async function stats() {
  const out = {};
  const report = await window.pc.getStats();
  const codecs = {};
  report.forEach(s => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
  report.forEach(s => {
    if (s.type !== 'inbound-rtp' && s.type !== 'outbound-rtp') return;
    out[s.type + '-' + s.kind] = {
      bytes: s.bytesSent || s.bytesReceived || 0,
      packets: s.packetsSent || s.packetsReceived || 0,
      framesDecoded: s.framesDecoded || 0,
      framesEncoded: s.framesEncoded || 0,
      samples: s.totalSamplesReceived || 0,
      codec: codecs[s.codecId] || '',
    };
  });
  out.state = window.pc.connectionState;
  return JSON.stringify(out);
}
