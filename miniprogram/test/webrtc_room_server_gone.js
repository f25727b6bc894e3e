// (e) The server going away. alice and bob are in a call through a network
// the test can cut. First the network goes (no goodbye from the server):
// each pusher and player reconnects (NETWORK_CHANGE), then gives up:
// ERROR_PUSH_DISCONNECT and PLAYER_DISCONNECT. The network comes back, both
// start() again and are in their call again; then trtcd shuts down:
// ERROR_PUSH_DISCONNECT again, and each loses the other.
const h = require('./harness.js');
const { ROOM } = require('../constant.js');

const COMPONENT = 'components/webrtc-room/webrtc-room';
const ROOM_ID = 8500;

async function inCall(alice, bob) {
  alice.instance.start();
  bob.instance.start();
  await alice.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  await bob.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  await Promise.all([h.waitPlaying('alice', 'bob', 700, { minFrames: 10 }), h.waitPlaying('bob', 'alice', 500, { minFrames: 10 })]);
}

h.scenario('webrtc-room: the server going away', async () => {
  h.settings.tones = { alice: 500, bob: 700 };
  const alice = h.load(COMPONENT, await h.roomProps('alice', ROOM_ID));
  const bob = h.load(COMPONENT, await h.roomProps('bob', ROOM_ID));
  await inCall(alice, bob);

  await h.cutNetwork();
  for (const [me, other] of [[alice, 'bob'], [bob, 'alice']]) {
    await me.waitEvent(ROOM.NETWORK_CHANGE, 'NETWORK_CHANGE (the pusher reconnecting)', (d) => d.errCode === 1102);
    await me.waitEvent(ROOM.ERROR_PUSH_DISCONNECT, 'ERROR_PUSH_DISCONNECT');
    // The cut ends the connections one at a time, in no promised order:
    // the player of the other reconnects (2103) and gives up
    // (PLAYER_DISCONNECT), or, when the other's member-quit reaches me
    // first, the player goes with the other.
    await h.waitFor(me.name + ' to lose ' + other + ' (its player reconnecting then PLAYER_DISCONNECT, or member-quit)', () =>
      (me.seen(ROOM.NETWORK_CHANGE, (d) => d.errCode === 2103 && d.userID === other).length &&
        me.seen(ROOM.PLAYER_DISCONNECT, (d) => d.userID === other).length) ||
      me.seen(ROOM.SUCC_MEMBERS_LIST, (d) => d.quit.indexOf(other) >= 0).length);
  }
  console.log('the network to trtcd cut: NETWORK_CHANGE (1102) and ERROR_PUSH_DISCONNECT on both sides, each lost the other');

  await h.restoreNetwork();
  alice.clear();
  bob.clear();
  await inCall(alice, bob);
  console.log('the network back: both start() again and play each other');

  await h.shutdownServer();
  for (const [me, other] of [[alice, 'bob'], [bob, 'alice']]) {
    await me.waitEvent(ROOM.ERROR_PUSH_DISCONNECT, 'ERROR_PUSH_DISCONNECT after the shutdown');
    await h.waitFor(me.name + ' to lose ' + other + ' (member-quit or PLAYER_DISCONNECT)', () =>
      me.seen(ROOM.SUCC_MEMBERS_LIST, (d) => d.quit.indexOf(other) >= 0).length ||
      me.seen(ROOM.PLAYER_DISCONNECT, (d) => d.userID === other).length);
  }
  console.log('trtcd shut down: ERROR_PUSH_DISCONNECT on both sides, each lost the other');
});
