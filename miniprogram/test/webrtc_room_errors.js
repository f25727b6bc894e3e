// (e) webrtc-room's error paths, each through bindRoomEvent with the
// seed's codes, against an app that requires a privateMapKey:
//   - the room signature refused: no privateMapKey → 80, expired → 86,
//     forged → 87 (ERROR_REQUEST_ROOM_SIG, the code in detail.errCode);
//   - devices: no camera (-1301) → ERROR_OPEN_CAMERA, no microphone (-1302)
//     → ERROR_OPEN_MIC, no permission (binderror 10001) →
//     ERROR_CAMERA_MIC_PERMISSION;
//   - a third member of a 1v1 room → ERROR_EXCEEDS_THE_MAX_MEMBER.
// The server going away is webrtc_room_server_gone.js.
const h = require('./harness.js');
const { ROOM } = require('../constant.js');

const COMPONENT = 'components/webrtc-room/webrtc-room';

async function refusedSig(user, privateMapKey, wantCode) {
  const c = h.load(COMPONENT, await h.roomProps(user, 8300, {}, privateMapKey));
  c.instance.start();
  const e = await c.waitEvent(ROOM.ERROR_REQUEST_ROOM_SIG, 'ERROR_REQUEST_ROOM_SIG');
  h.check(e.tag === 'error' && e.detail.errCode === wantCode,
    user + ': privateMapKey ' + privateMapKey + ' gave ' + JSON.stringify(e) + ', want errCode ' + wantCode);
  h.check(!c.instance.data.pushURL && !h.pusher(user), user + ' pushes after a refused room signature');
  console.log('privateMapKey ' + privateMapKey + ': ERROR_REQUEST_ROOM_SIG with ' + e.detail.errCode + ' (' + e.detail.errMsg + ')');
  c.instance.stop();
}

async function failingDevice(user, devices, wantEvent, name) {
  h.settings.devices = devices;
  const c = h.load(COMPONENT, await h.roomProps(user, 8400));
  c.instance.start();
  const e = await c.waitEvent(wantEvent, name);
  h.check(e.tag === 'error', name + ' came as ' + JSON.stringify(e));
  console.log(JSON.stringify(devices) + ': ' + name + ' (' + e.detail.errCode + ')');
  h.check(c.seen(ROOM.SUCC_JOIN_ROOM).length === 0, user + ' entered the room without a ' + name);
  c.instance.stop();
  h.settings.devices = {};
}

h.scenario('webrtc-room: error paths', async () => {
  await refusedSig('nokey', 'none', 80);
  await refusedSig('late', 'expired', 86);
  await refusedSig('mallory', 'forged', 87);

  await failingDevice('cam', { camera: false }, ROOM.ERROR_OPEN_CAMERA, 'ERROR_OPEN_CAMERA');
  await failingDevice('mic', { mic: false }, ROOM.ERROR_OPEN_MIC, 'ERROR_OPEN_MIC');
  await failingDevice('perm', { permission: false }, ROOM.ERROR_CAMERA_MIC_PERMISSION, 'ERROR_CAMERA_MIC_PERMISSION');

  // Two members fill a 1v1 room; the third is told so and does not push.
  h.settings.tones = { alice: 500, bob: 700 };
  const alice = h.load(COMPONENT, await h.roomProps('alice', 8200));
  const bob = h.load(COMPONENT, await h.roomProps('bob', 8200, { template: '1v1horizontal' }));
  alice.instance.start();
  bob.instance.start();
  await alice.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  await bob.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  await Promise.all([h.waitPlaying('alice', 'bob', 700, { minFrames: 10 }), h.waitPlaying('bob', 'alice', 500, { minFrames: 10 })]);
  const carol = h.load(COMPONENT, await h.roomProps('carol', 8200));
  carol.instance.start();
  const full = await carol.waitEvent(ROOM.ERROR_EXCEEDS_THE_MAX_MEMBER, 'ERROR_EXCEEDS_THE_MAX_MEMBER');
  console.log('a third member of a 1v1 room: ERROR_EXCEEDS_THE_MAX_MEMBER (' + full.detail.errMsg + ')');
  h.check(!h.pusher('carol') && h.players().every((p) => p.viewer !== 'carol'), 'carol pushes or plays in a full room');
  h.check(carol.seen(ROOM.SUCC_JOIN_ROOM).length === 0, 'carol entered a full room');

});
