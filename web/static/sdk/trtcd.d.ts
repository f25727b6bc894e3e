// Types for /sdk/trtcd.js, trtcd's browser SDK.

export declare class TrtcdError extends Error {
  /** A TRTC code (docs/errors.md) or an SDK code (ErrorCode). */
  readonly code: number;
  readonly reason: string;
}

export declare const ErrorCode: {
  readonly INVALID_PARAMETER: 4096;
  readonly INVALID_OPERATION: 4097;
  readonly SIGNAL_CHANNEL_SETUP_FAILED: 16385;
  readonly SIGNAL_CHANNEL_ERROR: 16386;
  readonly ICE_TRANSPORT_ERROR: 16387;
  readonly JOIN_ROOM_FAILED: 16388;
  readonly SERVER_TIMEOUT: 16449;
  readonly DEVICE_ERROR: 16451;
  readonly ROOM_FULL: 102052;
  readonly USER_SIG_CHECK_FAILED: 70346;
  readonly FORCE_OFFLINE: 14011;
};

export interface ClientOptions {
  sdkAppId: number;
  userId: string;
  userSig: string;
  /** The /ws endpoint; defaults to the page's host. */
  url?: string;
}

export interface JoinParams {
  roomId?: number;
  strRoomId?: string;
  privateMapKey?: string;
  /** '1v1bigsmall' | '1v1horizontal' admit two members. */
  template?: string;
  role?: 'anchor' | 'audience';
  minBitrate?: number;
  maxBitrate?: number;
  recordId?: string | number;
  pureAudioPushMod?: 0 | 1 | 2;
}

export interface MemberInfo {
  userId: string;
  audio: boolean;
  /** Publishing the main (big) video. */
  video: boolean;
  /** Publishing the small video beside the main one. */
  small?: boolean;
  /** Sharing the screen (the sub-stream). */
  sub?: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
}

export interface JoinResult {
  roomUUID: string;
  template: string;
  capacity: number;
  members: MemberInfo[];
  minBitrate: number;
  maxBitrate: number;
}

/** What a member publishes: 'video' is the main (big) video, 'sub' the screen share. */
export type StreamKind = 'audio' | 'video' | 'small' | 'sub';

/** A remote MediaStream: the camera and microphone, or the screen. */
export type RemoteStreamType = 'main' | 'sub';

/** Which of a member's videos a subscription receives. */
export type VideoStreamType = 'big' | 'small';

export interface ClientEvents {
  'members': MemberInfo[];
  'member-join': { userId: string };
  'member-quit': { userId: string; reason: 'leave' | 'disconnect' | 'timeout' | 'replaced' };
  'player-disconnect': { userId: string };
  'stream-add': { userId: string; kind: StreamKind };
  'stream-remove': { userId: string; kind: StreamKind };
  /** A member's camera (type 'main') or, while it shares, its screen (type 'sub'). */
  'remote-stream': { userId: string; stream: MediaStream; type: RemoteStreamType };
  /** A member stopped sharing its screen. */
  'remote-stream-removed': { userId: string; stream: MediaStream; type: 'sub' };
  /** This client's screen share ended (stopScreen, or the browser's "stop sharing"). */
  'screen-stopped': {};
  'mute': MemberInfo;
  'force-offline': { code: number; message: string };
  'closed': { code: number; message: string };
  'error': TrtcdError;
  'connection-state': { what: 'publish' | 'screen' | 'subscribe'; userId?: string; state: RTCPeerConnectionState };
  'connection-closed': {};
  // Classroom events (docs/classroom.md); tic.js turns them into TIC listeners.
  'message': import('./tic.js').TICMessage;
  'classroom-destroyed': { classId: number; strClassId: string };
  'room-closed': unknown;
}

export interface Client {
  readonly sdkAppId: number;
  readonly userId: string;
  on<E extends keyof ClientEvents>(event: E, handler: (data: ClientEvents[E]) => void): () => void;
  join(params: JoinParams): Promise<JoinResult>;
  createLocalStream(options?: { audio?: boolean; video?: boolean; cameraId?: string }): Promise<MediaStream>;
  /** Publishes the stream's audio and video (and the small video after enableSmallStream). */
  publish(stream: MediaStream): Promise<{ sdp: string }>;
  /** Stops the camera's publish; a screen share goes on. */
  unpublish(): Promise<void>;
  /** Publishes a small copy of the camera (half size, ≤ 200 kbps) from now on; republishes if publishing. */
  enableSmallStream(): Promise<void>;
  disableSmallStream(): Promise<void>;
  /**
   * Shares the screen as the sub-stream on its own PeerConnection, beside the
   * camera: getDisplayMedia, or the video of `stream` (a canvas capture, a tab).
   * Needs privilege bit 64 (else TrtcdError 102013).
   */
  publishScreen(options?: { stream?: MediaStream }): Promise<MediaStream>;
  /** Stops sharing the screen. */
  stopScreen(): Promise<void>;
  /** Receives a member's big (default) or small video; switches a live subscription at its next keyframe. */
  setRemoteVideoStreamType(userId: string, type: VideoStreamType): Promise<void>;
  subscribe(userId: string): Promise<MediaStream>;
  unsubscribe(userId: string): Promise<void>;
  muteAudio(muted: boolean): Promise<void>;
  muteVideo(muted: boolean): Promise<void>;
  switchCamera(deviceId?: string): Promise<MediaStreamTrack>;
  leave(): Promise<void>;

  // For SDKs built on this one (tic.js): the signalling channel itself.
  readonly userSig: string;
  /** True between entering a room and leaving it (or losing the connection). */
  readonly joined: boolean;
  /** The others in the room. */
  readonly members: Map<string, MemberInfo>;
  /** The camera's publish, with the small stream's track when it sends one. */
  readonly publisher: { pc: RTCPeerConnection; stream: MediaStream; small: MediaStreamTrack | null } | null;
  /** The screen share, while there is one. */
  readonly screen: { pc: RTCPeerConnection; stream: MediaStream } | null;
  /** The subscriptions: each member's camera stream and screen stream, on one PeerConnection. */
  readonly remote: Map<string, RemoteEntry>;
  /** Opens the WebSocket if it is not open. */
  connect(): Promise<void>;
  /** Sends one request and resolves with its reply's data (rejects with TrtcdError). */
  request<T = any>(type: string, data?: object): Promise<T>;
  /** Takes on the room state of a reply that entered a room (join, joinClassroom). */
  entered<T extends JoinResult>(data: T): T;
  /** Drops the room's connections and state; the socket stays. */
  reset(): void;
  emit(event: string, data: unknown): void;
}

export interface RemoteEntry {
  pc: RTCPeerConnection;
  /** The camera and microphone. */
  stream: MediaStream;
  /** The screen; it has frames while the member shares. */
  screen: MediaStream;
  videoTx: RTCRtpTransceiver;
  screenTx: RTCRtpTransceiver;
  screenShown: boolean;
}

export declare function createClient(options: ClientOptions): Client;
