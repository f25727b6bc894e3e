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
  video: boolean;
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

export interface ClientEvents {
  'members': MemberInfo[];
  'member-join': { userId: string };
  'member-quit': { userId: string; reason: 'leave' | 'disconnect' | 'timeout' | 'replaced' };
  'player-disconnect': { userId: string };
  'stream-add': { userId: string; kind: 'audio' | 'video' };
  'stream-remove': { userId: string; kind: 'audio' | 'video' };
  'remote-stream': { userId: string; stream: MediaStream };
  'mute': MemberInfo;
  'force-offline': { code: number; message: string };
  'closed': { code: number; message: string };
  'error': TrtcdError;
  'connection-state': { what: 'publish' | 'subscribe'; userId?: string; state: RTCPeerConnectionState };
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
  publish(stream: MediaStream): Promise<{ sdp: string }>;
  unpublish(): Promise<void>;
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

export declare function createClient(options: ClientOptions): Client;
