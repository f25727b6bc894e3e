// The index page: who you are, which room, and then a 1v1 call (TAvKit's
// component, pages/call) or a classroom (TIC + webrtc-room,
// pages/classroom). Credentials come from trtcd's development helper when
// none are given (a development trtcd); a real mini program gets them
// from its own backend and passes them on in the same query.
//
// Built with Component(), as WeChat allows for pages, so that the
// component simulator can load it like the other pages (miniprogram/test).
Component({
  data: {
    userId: '',
    roomId: '',
    role: 'student'
  },

  methods: {
    onLoad() {
      this.setData({
        userId: 'mini-' + Math.random().toString(36).slice(2, 6),
        roomId: String(1000 + Math.floor(Math.random() * 9000))
      });
    },

    onUserId(e) { this.setData({ userId: e.detail.value.trim() }); },
    onRoomId(e) { this.setData({ roomId: e.detail.value.trim() }); },
    onRole(e) { this.setData({ role: e.detail.value }); },

    // valid: the room id is what TRTC accepts (1 to 4294967295) and a
    // userId is given.
    valid() {
      const room = Number(this.data.roomId);
      if (!this.data.userId || !(room >= 1 && room <= 4294967295 && Math.floor(room) === room)) {
        wx.showToast({ title: 'A user id and a room number (1–4294967295), please', icon: 'none' });
        return false;
      }
      return true;
    },

    openCall() {
      if (!this.valid()) return;
      wx.navigateTo({ url: '/pages/call/call?roomId=' + this.data.roomId + '&userId=' + encodeURIComponent(this.data.userId) });
    },

    openClassroom() {
      if (!this.valid()) return;
      wx.navigateTo({ url: '/pages/classroom/classroom?classId=' + this.data.roomId + '&userId=' +
        encodeURIComponent(this.data.userId) + '&role=' + this.data.role });
    }
  }
});
