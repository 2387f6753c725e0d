# The office screens: display (services/web/src/office/display.rs).
display-hall-title = Calls
display-door-title = Desk { $desk }
display-current = Now serving
display-previous = Called before
display-none = Nobody has been called yet today.
display-desk = desk
display-door-now = Number being served
display-invite = Please come in
display-serving = Serving
display-idle = Please wait for your number to be called.
display-offline = No connection to the server – retrying…
display-sound-on = Turn sound on
display-no-office = This display's office is no longer configured. Pair the display again.
display-no-desk = The office of this display has no desk { $desk }.
