# mutant: leaving a room one is not in is not refused
/^static void on_leave/,/^}/s/ || !hub_in_room(s, room) ||/ ||/
