// The displays' script: the live calls over the WebSocket, chime and spoken call.
