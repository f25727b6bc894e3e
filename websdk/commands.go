package websdk

// Server → client command numbers (the SDK dispatches on them).
const (
	cmdClientBanned        = 9
	cmdChannelSetup        = 19
	cmdJoinResult          = 20
	cmdPublishers          = 23 // the published-user list, which also carries mute state
	cmdChannelReconnect    = 514
	cmdConstraintResult    = 772
	cmdPublishResult       = 4098
	cmdUnpublishResult     = 4100
	cmdSubscribeResult     = 4102
	cmdUnsubscribeResult   = 4104
	cmdSubscribeChange     = 4106
	cmdMuteResult          = 4108
	cmdSwitchRoleResult    = 4110
	cmdPublishStateResult  = 4112
	cmdUpdateOfferResult   = 4128
	cmdPeerJoin            = 4134
	cmdPeerLeave           = 4135
	cmdUserListResult      = 4137
	cmdStartCDNResult      = 1286
	cmdStopCDNResult       = 1288
	cmdStartUserCDNResult  = 777
	cmdStopUserCDNResult   = 779
	cmdStartMixResult      = 781
	cmdStopMixResult       = 783
	cmdConnectRoomResult   = 8209
	cmdDisconnectRoomRes   = 8211
	cmdUpdateRoomForwarder = 8213
)

// unsupported are the commands for Tencent cloud features trtcd does not
// have (CDN relay, cloud mixing, cross-room calls), with the reply the SDK
// waits for: refusing at once makes the application's call fail cleanly
// instead of after the SDK's timeout.
var unsupported = map[string]int{
	"start_publishing":               cmdStartCDNResult,
	"stop_publishing":                cmdStopCDNResult,
	"start_push_user_cdn":            cmdStartUserCDNResult,
	"stop_push_user_cdn":             cmdStopUserCDNResult,
	"start_mcu_mix":                  cmdStartMixResult,
	"stop_mcu_mix":                   cmdStopMixResult,
	"connect_other_room":             cmdConnectRoomResult,
	"disconnect_other_room":          cmdDisconnectRoomRes,
	"update_other_room_forward_mode": cmdUpdateRoomForwarder,
	// Only browsers without transceivers renegotiate this way; the SFU
	// cannot add a track to a running publisher.
	"publish_change": cmdUpdateOfferResult,
}

// codeUnsupported is the code of refused commands: the SDK shows it in the
// error it raises.
const codeUnsupported = -1
