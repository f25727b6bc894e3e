// trtcd TIC SDK: Tencent's interactive-classroom API (TIC) on trtcd's /ws
// protocol (docs/classroom.md). An ES module with no dependencies and no
// build step; the WebSocket, audio and video come from /sdk/trtcd.js.
//
//   import { createTIC } from '/sdk/tic.js';
//   const tic = createTIC();
//   tic.init(sdkAppId);
//   tic.setBoard(myBoard);                      // gets TXWhiteBoardExt data
//   tic.addTICMessageListener({ onTICRecvGroupTextMessage(from, text) { … } });
//   await tic.login({ userId, userSig });
//   await tic.joinClassroom(1234, { brushColor: '#ff0000' });
//   await tic.publishLocalStream();             // camera and microphone
//
// Every call takes an optional last callback `cb(module, code, desc)` the way
// TIC does (module 0 IM, 1 TRTC, 2 board; code 0 on success) and also returns
// a Promise that resolves with the server's reply or rejects with a
// TrtcdError carrying `module`.
//
// TIC itself is ./tic-core.js, the same file the mini-program SDK
// (miniprogram/tic/) runs; this module is its browser transport: trtcd.js's
// client, which speaks /ws over the browser's WebSocket and carries the
// media over WebRTC.

import './tic-core.js'; // a script both runtimes load: here it sets globalThis.TICCore
import { createClient, TrtcdError, ErrorCode } from './trtcd.js';

export { TrtcdError, ErrorCode };

const core = globalThis.TICCore;

/** The `module` argument of TIC callbacks: which part failed. */
export const TICModule = core.TICModule;

/** The extension that marks group custom messages as whiteboard data. */
export const BOARD_EXT = core.BOARD_EXT;

const browserTransport = Object.freeze({
  createClient,
  TrtcdError,
  ErrorCode,
  isOpen: client => !!client.ws && client.ws.readyState === WebSocket.OPEN,
  randomId: newMessageId,
});

/** Creates a TIC instance. `url` defaults to the /ws endpoint of the page's host. */
export function createTIC(options = {}) {
  return core.createTIC(browserTransport, options);
}

// 24 hex digits: unique enough per sender, and crypto.getRandomValues works
// outside secure contexts too (plain-http LAN servers).
function newMessageId() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
}
