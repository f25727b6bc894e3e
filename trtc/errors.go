// Package trtc is trtcd's control plane: applications and their keys,
// who may enter which room and do what, and the TRTC error codes clients
// already know. It knows nothing about RTP.
package trtc

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a TRTC error code as the clients (webrtc-room, TIC, the Web SDK)
// know them; 0 means success.
type Code int

// The error catalogue. Every failure that reaches a client carries one of
// these codes and a sentence; docs/errors.md lists them (a test keeps the two
// in step).
const (
	CodeOK                     Code = 0
	CodePrivateMapKeyEmpty     Code = 80
	CodeParamCheckFailed       Code = 82
	CodePrivateMapKeyExpired   Code = 86
	CodePrivateMapKeyIncorrect Code = 87
	CodeMissingUserID          Code = 10002
	CodeMissingSDKAppID        Code = 10003
	CodeMissingUserSig         Code = 10004
	CodeMissingRoomID          Code = 10005
	CodeSDKAppIDNotFound       Code = 70020
	CodeUserSigCheckFailed     Code = 70346
	CodePrivilegeCheckFailed   Code = 100006
	CodeNoCreateRoomPrivilege  Code = 102010
	CodeNoEnterRoomPrivilege   Code = 102011
	CodeNoSendVideoPrivilege   Code = 102013
	CodeNoRecvVideoPrivilege   Code = 102019
	CodeRoomFull               Code = 102052
	CodeRoomClosed             Code = 14003
	CodeUserLeft               Code = 14004
	CodeHeartbeatTimeout       Code = 14005
	CodeRateLimited            Code = 14009
	CodeClusterUnavailable     Code = 14010
	// CodeForceOffline and CodeKicked are trtcd's, after its 14009 and
	// 14010: the seeds' 14008 is "failed to get the recording file" and
	// nothing else, and no seed or TRTC client documents 14011 or 14012
	// (TRTC's client codes are negative or below 10000, Tencent IM's are
	// not in 14000–14999).
	CodeForceOffline Code = 14011
	CodeKicked       Code = 14012
)

// Tencent IM's codes where one fits a classroom or message failure
// (docs/errors.md).
const (
	CodeIMNoPermission    Code = 10007 // not the class's creator, or not in a class
	CodeIMGroupNotFound   Code = 10010 // no such class, or it was destroyed
	CodeIMGroupExists     Code = 10021 // createClassroom of an existing class
	CodeIMRateLimited     Code = 10023 // a sender over its message rate
	CodeIMTooManyGroups   Code = 10037 // a user who created ClassesPerUser classes creates another
	CodeIMUnknownReceiver Code = 20003 // a C2C receiver who is not signed in
	CodeIMMessageTooLong  Code = 80002 // over the message size limit
)

// The room REST API's codes, from the TAvKit table the application servers
// of TRTC's demos use. They are a separate table from the client codes:
// 10002–10005 mean other things here.
const (
	RestServerError     Code = 10000
	RestBadRequest      Code = 10001
	RestJSONEncode      Code = 10002
	RestJSONDecode      Code = 10003
	RestInvalidParam    Code = 10004
	RestUnauthorized    Code = 10005
	RestStorageError    Code = 10006
	RestEnterFailed     Code = 14000
	RestExitFailed      Code = 14001
	RestRoomMismatch    Code = 14002
	RestRoomClosed      Code = 14003
	RestUserLeft        Code = 14004
	RestHeartbeatFailed Code = 14005
	RestMemberQuery     Code = 14006
	RestNoSuchRoom      Code = 14007
	RestRecordFailed    Code = 14008 // the recording files API: a file could not be got
)

// Catalogue describes every code, in the order docs/errors.md lists them.
var Catalogue = []struct {
	Code        Code
	Name        string
	Description string
}{
	{CodeOK, "ok", "Success."},
	{CodePrivateMapKeyEmpty, "private_map_key_empty", "The application requires a privateMapKey and the request carries none."},
	{CodeParamCheckFailed, "param_check_failed", "A parameter is missing, out of range or inconsistent (the message names it)."},
	{CodePrivateMapKeyExpired, "private_map_key_expired", "The privateMapKey has expired: now is past TLS.time + TLS.expire or past the expiry in its userbuf."},
	{CodePrivateMapKeyIncorrect, "private_map_key_incorrect", "The privateMapKey is malformed, signed with another key, issued to another user or application, or for another room (numeric and string room ids are different rooms). The message gives the reason."},
	{CodeMissingUserID, "missing_user_id", "The request has no userId."},
	{CodeMissingSDKAppID, "missing_sdk_app_id", "The request has no sdkAppId."},
	{CodeMissingUserSig, "missing_user_sig", "The request has no userSig."},
	{CodeMissingRoomID, "missing_room_id", "The request has neither a numeric roomId (1 to 4294967295) nor a strRoomId."},
	{CodeSDKAppIDNotFound, "sdk_app_id_not_found", "No application with this sdkAppId is configured on this server."},
	{CodeUserSigCheckFailed, "user_sig_check_failed", "The userSig did not verify. The message gives the reason: malformed, wrong_sdkappid, wrong_user, expired or bad_signature."},
	{CodePrivilegeCheckFailed, "privilege_check_failed", "The privateMapKey lacks a privilege bit the request needs (sending or receiving audio; the message names it)."},
	{CodeNoCreateRoomPrivilege, "no_create_room_privilege", "The room does not exist and the privateMapKey lacks the create-room bit (1)."},
	{CodeNoEnterRoomPrivilege, "no_enter_room_privilege", "The privateMapKey lacks the enter-room bit (2)."},
	{CodeNoSendVideoPrivilege, "no_send_video_privilege", "The privateMapKey lacks the send-video bit (16) and the offer sends video, or lacks the send-sub-stream bit (64) and the offer shares a screen (the message names the bit)."},
	{CodeNoRecvVideoPrivilege, "no_recv_video_privilege", "The privateMapKey lacks the receive-video bit (32) and the offer asks for video, or lacks the receive-sub-stream bit (128) and asks for the sub-stream alone (a WHEP or `_aux` player); or a WHEP, RTMP or HTTP-FLV player's privateMapKey allows receiving nothing (neither bit 8 nor bit 32)."},
	{CodeRoomFull, "room_full", "The room has as many members as it admits: two in 1v1 templates (the component's ERROR_EXCEEDS_THE_MAX_MEMBER), the configured capacity otherwise. Also the viewer limits of WHEP, RTMP and HTTP-FLV players: per room, and per userId across rooms."},
	{CodeRoomClosed, "room_closed", "The application server closed the room (REST close_room): its members' connections end with it."},
	{CodeUserLeft, "user_left", "The user has already left the room: a /ws room request after leave, after the room ended, or a quit with nothing to quit."},
	{CodeHeartbeatTimeout, "heartbeat_timeout", "The client sent no heartbeat within the timeout and was removed from its room; or a /ws socket did not log in within the login deadline and is closed."},
	{CodeRateLimited, "rate_limited", "Too many messages or joins in too short a time, a message over the size limit, or a client that does not read its frames; the connection is closed. HTTP entry points answer 429 with it for an address over its rate or connection cap."},
	{CodeClusterUnavailable, "cluster_unavailable", "The cluster's directory (Redis) cannot be reached, so a publisher on another node cannot be played now; calls already running go on. Retry."},
	{CodeForceOffline, "force_offline", "The user signed in again elsewhere and took over; this connection is closed (TIC's onTICForceOffline)."},
	{CodeKicked, "kicked", "The application server removed the user (REST kick_user); this connection is closed."},
	{CodeIMNoPermission, "im_no_permission", "Classrooms: only the creator or an admin may destroy a class; group messages and history need membership of a class (Tencent IM's code)."},
	{CodeIMGroupNotFound, "im_group_not_found", "Classrooms: no class with this id, or it was destroyed (Tencent IM's code)."},
	{CodeIMGroupExists, "im_group_exists", "Classrooms: a class with this id exists already (Tencent IM's code)."},
	{CodeIMTooManyGroups, "im_too_many_groups", "Classrooms: the user created as many classes as one user may have (20 by default); destroy one first (Tencent IM's code)."},
	{CodeIMRateLimited, "im_rate_limited", "Classrooms: the sender is over its message rate (Tencent IM's code)."},
	{CodeIMUnknownReceiver, "im_unknown_receiver", "Classrooms: the C2C receiver is not signed in (Tencent IM's code)."},
	{CodeIMMessageTooLong, "im_message_too_long", "Classrooms: the message is over the size limit, 12 KB by default (Tencent IM's code)."},
}

// RestCatalogue describes the room REST API's and the recording files
// API's codes, in the order docs/errors.md lists them (a test keeps the two
// in step).
var RestCatalogue = []struct {
	Code        Code
	Name        string
	Description string
}{
	{RestServerError, "server_error", "The server failed (not the request)."},
	{RestBadRequest, "bad_request", "The URL or the body cannot be read: an unknown operation, an unreadable body."},
	{RestJSONEncode, "json_encode", "The reply could not be encoded as JSON."},
	{RestJSONDecode, "json_decode", "The body is not the JSON expected."},
	{RestInvalidParam, "invalid_param", "A parameter is missing or invalid: sdkappid, identifier or usersig missing from the query; userId, roomId, strRoomId, classId or creator missing or out of range."},
	{RestUnauthorized, "unauthorized", "The usersig did not verify (expired, forged, another app) or the identifier is not an admin identifier of the app."},
	{RestStorageError, "storage_error", "The server's storage failed: the classrooms' database, or deleting a recording file."},
	{RestEnterFailed, "enter_failed", "enter_room was refused; the message gives the room's reason (full, another recordId)."},
	{RestExitFailed, "exit_failed", "Leaving failed."},
	{RestRoomMismatch, "room_mismatch", "The room in the request is not the room the user is in."},
	{RestRoomClosed, "room_closed", "The room is not live: closed, or never created."},
	{RestUserLeft, "user_left", "The user has already left: it is in no room."},
	{RestHeartbeatFailed, "heartbeat_failed", "The heartbeat could not be recorded."},
	{RestMemberQuery, "member_query_failed", "The room's members could not be listed."},
	{RestNoSuchRoom, "no_such_room", "No live room has this roomUUID."},
	{RestRecordFailed, "record_file_failed", "A recording file could not be got: not there (or another app's), a download link invalid or expired, the index unreadable."},
}

// Error is a failure a client sees: a TRTC code and a human sentence. The
// cause, when there is one, stays available to errors.Is / errors.As.
type Error struct {
	Code    Code
	Message string
	cause   error
	status  int // HTTP status when the code alone does not say it
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }
func (e *Error) Unwrap() error { return e.cause }

// Errorf makes an Error with a formatted message. A %w verb in format keeps
// the wrapped error as the cause.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), cause: errors.Unwrap(err)}
}

// CodeOf returns the TRTC code of err: 0 for nil, the Error's code, or 82
// (parameter check failed) for an error that carries no code.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeParamCheckFailed
}

// HTTPStatus is the HTTP status that goes with a code.
func (e *Error) HTTPStatus() int {
	if e.status != 0 {
		return e.status
	}
	switch e.Code {
	case CodeOK:
		return http.StatusOK
	case CodeSDKAppIDNotFound, CodeUserSigCheckFailed, CodePrivateMapKeyEmpty, CodePrivateMapKeyExpired, CodePrivateMapKeyIncorrect:
		return http.StatusUnauthorized
	case CodePrivilegeCheckFailed, CodeNoCreateRoomPrivilege, CodeNoEnterRoomPrivilege, CodeNoSendVideoPrivilege, CodeNoRecvVideoPrivilege:
		return http.StatusForbidden
	case CodeClusterUnavailable:
		return http.StatusServiceUnavailable
	case CodeRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// WithHTTPStatus sets the HTTP status of an error whose code does not say
// it (a missing session is 404, a media server failure 500).
func (e *Error) WithHTTPStatus(status int) *Error {
	e.status = status
	return e
}
