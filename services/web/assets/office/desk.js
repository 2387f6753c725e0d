// The desk screen's script: the recall countdown.
