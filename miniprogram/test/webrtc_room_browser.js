// (b) A webrtc-room component in the same room as the browser demo page
// (e2e/miniprogram_browser_test.go opens the page and checks its side):
// the component sees the page's user in its member list and its player
// decodes the page's video and hears its microphone's tone. It then keeps its call up until the
// Go test, done with the page's side, closes stdin.
const h = require('./harness.js');
const { ROOM } = require('../constant.js');

const COMPONENT = 'components/webrtc-room/webrtc-room';
const peer = process.env.TRTCD_PEER;
const roomId = Number(process.env.TRTCD_ROOM);
const peerTone = Number(process.env.TRTCD_PEER_TONE); // the page's microphone (Chromium's fake one beeps)

h.scenario('webrtc-room with the browser demo page', async () => {
  h.settings.tones = { mini: 660 };
  const mini = h.load(COMPONENT, await h.roomProps('mini', roomId));
  mini.instance.start();
  await mini.waitEvent(ROOM.SUCC_MEMBERS_LIST, 'a member list with ' + peer, (d) => d.members.some((m) => m.userID === peer));
  await mini.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  let seen = null;
  await h.waitFor('the player of ' + peer + ' decoding video (> 30 frames) and its ' + peerTone + ' Hz beep', () => {
    const p = h.player('mini', peer);
    if (!p || p.frames <= 30 || p.samples < 16000) return false;
    seen = { frames: p.frames, samples: p.samples, tone: p.tone() };
    return Math.abs(seen.tone.freq - peerTone) <= peerTone * 0.05;
  }, 40000).catch((err) => {
    throw new Error(err.message + ' (last seen: ' + JSON.stringify(seen) + ')');
  });
  await mini.waitEvent(ROOM.PLAYER_PLAY, peer + "'s picture", (d) => d.userID === peer);
  console.log('the component plays the browser: ' + seen.frames + ' frames, ' + seen.samples + ' audio samples, level ' +
    Math.round(seen.tone.rms) + ', dominant ' + seen.tone.freq + ' Hz');
  await new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.resume();
  });
  mini.instance.stop();
  await mini.waitEvent(ROOM.EXIT_ROOM, 'leaving');
});
