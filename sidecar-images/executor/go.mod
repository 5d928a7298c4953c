module skillpod.io/executor

go 1.26
