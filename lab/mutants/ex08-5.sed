# mutant: leave is never acked
/^static void on_leave/,/^}/{
/reply_one(c, s, ev, "room", room);/d
}
