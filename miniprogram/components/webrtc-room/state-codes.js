// What the native tags' statechange codes mean for the room. trtcd speaks
// plain RTMP, so the pusher reports 1001/1002 (connected, pushing) and never
// the room codes 1018/1020 of Tencent's room:// URLs: the member list comes
// from /ws instead (room-follow.js).
const CONSTANT = require('../../constant.js');
const ROOM = CONSTANT.ROOM;

// live-pusher: code → the room events it raises, and whether the push is over.
const PUSHER = {
  1001: { events: [ROOM.PUSHER_LOADING] }, // connected to the server
  1002: { events: [ROOM.SUCC_PUSH, ROOM.PUSHER_PLAY] }, // pushing: trtcd admitted the member
  1021: { events: [ROOM.NETWORK_CHANGE] }, // network type changed
  1101: { events: [ROOM.NETWORK_CHANGE] }, // upstream too slow
  1102: { events: [ROOM.NETWORK_CHANGE] }, // connection lost, reconnecting
  '-1301': { events: [ROOM.ERROR_OPEN_CAMERA], fatal: true },
  '-1302': { events: [ROOM.ERROR_OPEN_MIC], fatal: true },
  '-1307': { events: [ROOM.ERROR_PUSH_DISCONNECT], fatal: true }, // reconnecting failed
  5000: { events: [ROOM.EXIT_ROOM], fatal: true } // WeChat was in the background too long
};

// live-player: code → the room events it raises.
const PLAYER = {
  2004: [ROOM.PLAYER_PLAY], // the first frame is shown
  2007: [ROOM.PLAYER_LOADING], // buffering
  2103: [ROOM.NETWORK_CHANGE], // connection lost, reconnecting
  2105: [ROOM.NETWORK_CHANGE], // stutter
  '-2301': [ROOM.PLAYER_DISCONNECT] // reconnecting failed
};

// binderror of live-pusher: no permission for the camera (10001) or the
// microphone (10002).
const PERMISSION_ERRORS = [10001, 10002];

function pusherState(code) {
  return PUSHER[code] || { events: [] };
}

function playerEvents(code) {
  return PLAYER[code] || [];
}

module.exports = { pusherState, playerEvents, PERMISSION_ERRORS };
