// TAvKit's onErrorListener({module, errorCode, errorMsg}): which of the
// seed's four tables (avkit, trtc, server, http) a failure belongs to, from
// the webrtc-room event that reported it and the code that came with it.
const CONSTANT = require('../../constant.js');

const ROOM = CONSTANT.ROOM;

const MODULE = Object.freeze({ AVKIT: 'avkit', TRTC: 'trtc', SERVER: 'server', HTTP: 'http' });

// The avkit table: the component's own checks and the room signature's
// refusals (jsonvideoapp answers with these numbers).
const AVKIT = Object.freeze({
  NO_PERMISSION: 10001, // the mini program may not use <live-pusher>/<live-player>
  MISSING_USER_ID: 10002,
  MISSING_SDK_APP_ID: 10003,
  MISSING_USER_SIG: 10004,
  MISSING_ROOM_ID: 10005,
});
const AVKIT_SIG_CODES = [10001, 10002, 10003, 10004, 10005, 70346, 80, 82, 86, 87, 88];

// The trtc table: what the native pusher and the room report.
const TRTC = Object.freeze({
  OPEN_CAMERA_FAILED: -1301,
  OPEN_MIC_FAILED: -1302,
  PUSH_DISCONNECTED: -1307,
  ENTER_OR_EXIT_ROOM: -1019, // "进房失败或者退房成功"
  CAMERA_NOT_AUTHORIZED: 10001,
  MIC_NOT_AUTHORIZED: 10002,
  CALL_EXITED: 5000,
});

// The http table: no answer from the server at all.
const HTTP_UNREACHABLE = 10000;
// webrtc-room's errCode when the request or socket got no answer.
const NO_ANSWER = -1;

// The server table: the room service's own codes (10000–10006, 14000–14008).
function isServerCode(code) {
  return (code >= 10000 && code <= 10006) || (code >= 14000 && code <= 14008);
}

function error(module, errorCode, errorMsg) {
  return { module, errorCode, errorMsg: errorMsg || '' };
}

// fromRoomEvent maps one webrtc-room error event ({code, detail: {errCode,
// errMsg}}) to TAvKit's error, or null for events that are no error.
function fromRoomEvent(code, detail) {
  const d = detail || {};
  const errCode = d.errCode;
  const msg = d.errMsg || '';
  switch (code) {
    case ROOM.ERROR_REQUEST_ROOM_SIG: // jsonvideoapp: the seed lists its refusals under avkit
      if (errCode === NO_ANSWER || errCode === undefined) return error(MODULE.HTTP, HTTP_UNREACHABLE, msg || 'the server did not answer');
      if (AVKIT_SIG_CODES.indexOf(errCode) >= 0) return error(MODULE.AVKIT, errCode, msg);
      return error(isServerCode(errCode) ? MODULE.SERVER : MODULE.TRTC, errCode, msg);
    case ROOM.ERROR_JOIN_ROOM: // the /ws follow: the server's answer, or none
      if (errCode === NO_ANSWER || errCode === undefined) return error(MODULE.HTTP, HTTP_UNREACHABLE, msg || 'the server did not answer');
      if (AVKIT_SIG_CODES.indexOf(errCode) >= 0 && !isServerCode(errCode)) return error(MODULE.AVKIT, errCode, msg);
      if (isServerCode(errCode)) return error(MODULE.SERVER, errCode, msg);
      return error(MODULE.TRTC, TRTC.ENTER_OR_EXIT_ROOM, errCode + ' ' + msg);
    case ROOM.ERROR_EXCEEDS_THE_MAX_MEMBER:
      return error(MODULE.TRTC, TRTC.ENTER_OR_EXIT_ROOM, 'the call already has two people: ' + msg);
    case ROOM.ERROR_OPEN_CAMERA:
      return error(MODULE.TRTC, TRTC.OPEN_CAMERA_FAILED, msg || 'the camera could not be opened');
    case ROOM.ERROR_OPEN_MIC:
      return error(MODULE.TRTC, TRTC.OPEN_MIC_FAILED, msg || 'the microphone could not be opened');
    case ROOM.ERROR_PUSH_DISCONNECT:
      return error(MODULE.TRTC, TRTC.PUSH_DISCONNECTED, msg || 'the push connection broke');
    case ROOM.ERROR_CAMERA_MIC_PERMISSION:
      return error(MODULE.TRTC, errCode === TRTC.MIC_NOT_AUTHORIZED ? TRTC.MIC_NOT_AUTHORIZED : TRTC.CAMERA_NOT_AUTHORIZED,
        msg || 'authorize the camera and the microphone first');
  }
  return null;
}

// missingOption checks start()'s options in the seed's order.
function missingOption(o) {
  if (!o.userId) return error(MODULE.AVKIT, AVKIT.MISSING_USER_ID, 'the required option userId is missing');
  if (!o.sdkAppId) return error(MODULE.AVKIT, AVKIT.MISSING_SDK_APP_ID, 'the required option sdkAppId is missing');
  if (!o.userSig) return error(MODULE.AVKIT, AVKIT.MISSING_USER_SIG, 'the required option userSig is missing');
  if (!o.roomId) return error(MODULE.AVKIT, AVKIT.MISSING_ROOM_ID, 'the required option roomId is missing');
  return null;
}

module.exports = { MODULE, AVKIT, TRTC, fromRoomEvent, missingOption, error };
