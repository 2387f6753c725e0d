# The office screens: display (services/web/src/office/display.rs).
display-hall-title = Wywołania
display-door-title = Stanowisko { $desk }
display-current = Zapraszamy
display-previous = Poprzednio wywołane
display-none = Nikt nie został jeszcze dziś wywołany.
display-desk = stanowisko
display-door-now = Obsługiwany numer
display-invite = Zapraszamy
display-serving = Trwa obsługa
display-idle = Proszę czekać na wywołanie numeru.
display-offline = Brak połączenia z serwerem – ponawiam…
display-sound-on = Włącz dźwięk
display-no-office = Urząd tego wyświetlacza nie istnieje już w konfiguracji. Sparuj wyświetlacz ponownie.
display-no-desk = W urzędzie tego wyświetlacza nie ma stanowiska { $desk }.
