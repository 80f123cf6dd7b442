# mutant: leave tells nobody (no presence "leave" to the room)
/^static void on_leave/,/^}/{
/presence(c, room, s, "leave", NULL);/d
}
