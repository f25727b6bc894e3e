package rawudp

import "syscall"

const sysSendmmsg = syscall.SYS_SENDMMSG
