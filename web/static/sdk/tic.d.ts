// Types for /sdk/tic.js: Tencent's interactive-classroom (TIC) API on trtcd
// (docs/classroom.md). The same API runs in mini programs (miniprogram/tic/):
// both builds are ./tic-core.js on two transports.

import type { Client, JoinResult, MemberInfo, TrtcdError as BaseError } from './trtcd.js';
export { TrtcdError, ErrorCode } from './trtcd.js';

/** The `module` argument of every callback: which part answered. */
export declare const TICModule: {
  readonly IM: 0;
  readonly TRTC: 1;
  readonly BOARD: 2;
};
export type TICModuleValue = 0 | 1 | 2;

/** The extension of group custom messages that carry whiteboard data. */
export declare const BOARD_EXT: 'TXWhiteBoardExt';

/**
 * TIC's callback, called once per call: `code` 0 on success, otherwise a TRTC
 * or IM code (docs/errors.md, docs/classroom.md) or an SDK code (ErrorCode);
 * `desc` says what went wrong ('' on success).
 */
export type TICCallback = (module: TICModuleValue, code: number, desc: string) => void;

/** What the returned Promises reject with. */
export interface TICError extends BaseError {
  readonly module: TICModuleValue;
}

/** A class: numbers are classIds, strings strClassIds (different classes, like rooms). */
export type ClassId = number | string;

/** joinClassroom's first argument in full: the class plus room options. */
export interface JoinClassroomParams {
  classId?: number;
  strClassId?: string;
  privateMapKey?: string;
  /** '1v1bigsmall' | '1v1horizontal' admit two members; otherwise the server's capacity. */
  template?: string;
  role?: 'anchor' | 'audience';
  recordId?: string | number;
  minBitrate?: number;
  maxBitrate?: number;
  /**
   * Mini programs: follow the class's room instead of entering it, because
   * this user's member is webrtc-room's RTMP pusher (same userId); messages,
   * history and events work as for a member (the `follow` of docs/protocol.md).
   */
  follow?: boolean;
}

/** TIC's board settings; all client-side, handed to the board's setOption. */
export interface BoardOption {
  ratio?: string;
  drawEnable?: boolean;
  brushColor?: string;
  /** In 1/10000 of the board's height. */
  brushThin?: number;
  toolType?: number;
  globalBackgroundColor?: string;
  dataSyncEnable?: boolean;
  smoothLevel?: number;
  [key: string]: unknown;
}

/** The reply of joinClassroom. */
export interface ClassInfo extends JoinResult {
  classId: number;
  strClassId: string;
  creator: string;
  /** The class's last group seq when this member joined. */
  lastSeq: number;
}

/** A C2C or group message as the server delivers it. */
export interface TICMessage {
  /** The class's sequence number (1, 2, 3 …); 0 for C2C. */
  seq: number;
  /** Server time, Unix milliseconds. */
  time: number;
  from: string;
  /** The receiver of a C2C message; absent for group messages. */
  to?: string;
  classId?: number;
  strClassId?: string;
  type: 'text' | 'custom';
  text?: string;
  data?: string;
  ext?: string;
  clientMsgId: string;
}

/** The reply of a send. */
export interface SendResult {
  /** The group seq; 0 for C2C. */
  seq: number;
  time: number;
  clientMsgId: string;
}

/** Receives the class's TXWhiteBoardExt data (group custom messages), in seq order. */
export interface TICBoard {
  /** One message's data, from others live or from anyone in a replay. */
  addSyncData(data: string, msg: TICMessage): void;
  /** The boardOption of joinClassroom. */
  setOption?(option: BoardOption): void;
  /** Called before a join that replays the class's whole history. */
  reset?(): void;
}

/** `len` is the UTF-8 length of text or data. Board data never reach these. */
export interface TICMessageListener {
  onTICRecvTextMessage?(fromUserId: string, text: string, len: number): void;
  onTICRecvCustomMessage?(fromUserId: string, data: string, len: number): void;
  onTICRecvGroupTextMessage?(fromUserId: string, text: string, len: number): void;
  onTICRecvGroupCustomMessage?(fromUserId: string, data: string, len: number): void;
  /** Every message but board data, including C2C messages this user sent from another connection. */
  onTICRecvMessage?(msg: TICMessage): void;
}

export interface TICEventListener {
  onTICMemberJoin?(userIds: string[]): void;
  onTICMemberQuit?(userIds: string[]): void;
  /** The class was destroyed (by its creator or an admin, or while this user was reconnecting). */
  onTICClassroomDestroy?(): void;
}

export interface TICStatusListener {
  /** The account signed in elsewhere; this instance is signed out. */
  onTICForceOffline?(): void;
  /** trtcd extension: the connection dropped; the SDK is reconnecting. */
  onTICConnectionLost?(): void;
  /** trtcd extension: signed in again, back in the class, missed messages replayed. */
  onTICConnectionRestored?(): void;
  /** trtcd extension: reconnecting failed for good; the instance is signed out. */
  onTICConnectionFailed?(code: number, desc: string): void;
}

export interface TIC {
  init(sdkAppId: number, cb?: TICCallback): Promise<void>;
  login(user: { userId: string; userSig: string }, cb?: TICCallback): Promise<{ userId: string }>;
  logout(cb?: TICCallback): Promise<void>;
  createClassroom(classId: ClassId, cb?: TICCallback): Promise<{ classId: number; strClassId: string }>;
  destroyClassroom(classId: ClassId, cb?: TICCallback): Promise<void>;
  /** Resolves after the missed group messages were replayed (board data first). */
  joinClassroom(classId: ClassId | JoinClassroomParams, boardOption?: BoardOption, cb?: TICCallback): Promise<ClassInfo>;
  joinClassroom(classId: ClassId | JoinClassroomParams, cb: TICCallback): Promise<ClassInfo>;
  quitClassroom(cb?: TICCallback): Promise<void>;

  sendTextMessage(userId: string, text: string, cb?: TICCallback): Promise<SendResult>;
  /** `data` is sent as is when a string, as JSON otherwise. */
  sendCustomMessage(userId: string, data: string | object, cb?: TICCallback): Promise<SendResult>;
  /** TIC 2's name of sendTextMessage. */
  sendC2CTextMessage(userId: string, text: string, cb?: TICCallback): Promise<SendResult>;
  /** TIC 2's name of sendCustomMessage. */
  sendC2CCustomMessage(userId: string, data: string | object, cb?: TICCallback): Promise<SendResult>;
  sendGroupTextMessage(text: string, cb?: TICCallback): Promise<SendResult>;
  sendGroupCustomMessage(data: string | object, cb?: TICCallback): Promise<SendResult>;
  /** A group custom message with ext 'TXWhiteBoardExt'; callbacks report module 2. */
  sendBoardData(data: string | object, cb?: TICCallback): Promise<SendResult>;

  /** Publishes the camera and microphone (or `stream`); published again after a reconnection. */
  publishLocalStream(stream?: MediaStream, cb?: TICCallback): Promise<MediaStream>;
  publishLocalStream(cb: TICCallback): Promise<MediaStream>;
  unpublishLocalStream(cb?: TICCallback): Promise<void>;

  addTICMessageListener(listener: TICMessageListener): void;
  /** Without an argument removes every message listener. */
  removeTICMessageListener(listener?: TICMessageListener): void;
  addTICEventListener(listener: TICEventListener): void;
  removeTICEventListener(listener?: TICEventListener): void;
  addTICStatusListener(listener: TICStatusListener): void;
  removeTICStatusListener(listener?: TICStatusListener): void;

  /** The trtcd.js client of the signed-in user (null before login): remote streams, members, mute. */
  getTrtcClient(): Client | null;
  /** TIC's IM instance: the same client. */
  getImInstance(): Client | null;
  getBoardInstance(): TICBoard | null;
  setBoard(board: TICBoard | null): void;
  getClassInfo(): ClassInfo | null;
  getLastSeq(): number;
}

export declare function createTIC(options?: { url?: string }): TIC;

export type { MemberInfo };
