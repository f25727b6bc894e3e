// The constants of Tencent's TIC mini-program SDK (its `constant` folder):
// webrtc-room raises CONSTANT.ROOM codes through bindRoomEvent, so pages
// written against Tencent's component compare e.detail.code with these.
const CONSTANT = {
  ROOM: {
    ERROR_OPEN_CAMERA: -4, // the camera could not be opened
    ERROR_OPEN_MIC: -5, // the microphone could not be opened
    ERROR_PUSH_DISCONNECT: -6, // the push connection broke and could not be restored
    ERROR_CAMERA_MIC_PERMISSION: -7, // no permission for the camera or the microphone
    ERROR_EXCEEDS_THE_MAX_MEMBER: -8, // the room already has as many members as its template admits
    ERROR_REQUEST_ROOM_SIG: -9, // the room signature (jsonvideoapp) was refused
    ERROR_JOIN_ROOM: -10, // entering the room failed

    SUCC_PUSH: 10, // pushing started
    SUCC_JOIN_ROOM: 11, // in the room
    SUCC_MEMBERS_LIST: 12, // the member list (sent again whenever it changes)

    NETWORK_CHANGE: 13, // the network changed or degraded; the pusher or a player reconnects
    PUSHER_LOADING: 14, // the pusher is connecting
    PUSHER_PLAY: 15, // the pusher sends media

    PLAYER_LOADING: 16, // a remote member's player is loading
    PLAYER_PLAY: 17, // a remote member's player shows media
    PLAYER_DISCONNECT: 18, // a remote member's player lost it for good

    EXIT_ROOM: 19 // left the room (stop(), or the room was closed)
  },

  // webrtc-room's `template` values.
  TEMPLATE_TYPE: {
    BIGSMALL: '1v1bigsmall',
    HORIZONTAL: '1v1horizontal',
    CUSTOM: 'custom'
  }
};

module.exports = CONSTANT;
