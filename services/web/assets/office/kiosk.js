// The kiosk's script: inactivity return, double-tap guard, speech.
