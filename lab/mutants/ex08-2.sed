# mutant: the one who leaves is not told (presence goes to the others only)
/^static void on_leave/,/^}/s/presence(c, room, s, "leave", NULL);/presence(c, room, s, "leave", s);/
