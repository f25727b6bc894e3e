// Package tic holds the one TIC core the browser and the mini program
// share. A mini program can load files only from its own folder, so the
// core lives here; trtcd embeds it and serves it to browsers at
// /sdk/tic-core.js (package web), where /sdk/tic.js imports it. There is
// no second copy to keep in step.
package tic

import _ "embed"

// Core is tic-core.js.
//
//go:embed tic-core.js
var Core []byte
