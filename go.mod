module github.com/trtcd/trtcd

go 1.26
