# The office screens: display (services/web/src/office/display.rs).
display-hall-title = Виклики
display-door-title = Вікно { $desk }
display-current = Запрошуємо
display-previous = Викликані раніше
display-none = Сьогодні ще нікого не викликали.
display-desk = вікно
display-door-now = Номер, що обслуговується
display-invite = Запрошуємо
display-serving = Триває обслуговування
display-idle = Будь ласка, зачекайте на виклик свого номера.
display-offline = Немає з’єднання з сервером – повторюю спробу…
display-sound-on = Увімкнути звук
display-no-office = Установи цього дисплея більше немає в налаштуваннях. Під’єднайте дисплей ще раз.
display-no-desk = В установі цього дисплея немає вікна { $desk }.
