#!/usr/bin/env python3
# Writes the hand-made seeds of the chat_hub fuzzer: one scenario of the chat per file, spelled
# in the input layout that fuzz/chat_hub.cpp decodes (keep the two in step).
import os
import sys

# Store modes (fake_store::mode_bits).
READS_AT_ONCE, APPENDS_AT_ONCE, DOWN, SNAPSHOT, MEMBERS_QUEUED, FEED_WITH_DONE = 1, 2, 4, 8, 16, 32
SQLITE = READS_AT_ONCE  # reads answer inside the call, appends come back later
# Profiles (first byte): small tables, real rate limit, one flood allowed, slots 2 and 3 signed
# in as one user ("ann"), slot 1 signed in as "bob".
TIGHT, RATE, FLOODS, SIGNED, BOB = 1, 2, 4, 8, 16  # BOB: slot 1 signed in as "bob"
RENAMED = 32  # ann shows the display name "Annie"; her account key stays "ann"

# Indexes into the fuzzer's tables.
ROOMS = {"r0": 0, "r1": 1, "R0": 2, "r2": 3, "a-b_c": 4, "": 5, "no room": 6, "e-acute": 7,
         "long": 8}
NICKS = {"ann": 0, "Ann": 1, "bob": 2, "cy": 3, "dee": 4, " ann": 5, "ann ": 6, "zwsp": 7,
         "rlo": 8, "": 9, "long": 10, "32e": 11, "newline": 12, "fffd": 13}
TEXTS = {"": 0, "max": 1, "over": 2, "emoji": 3, "odd": 4, "fuzz": 5, "hi": 7}
REFS = {None: 0, "max": 1, "over": 2, "max-e": 3, "over-e": 4, "cut": 5, "max-emoji": 6,
        "cut3": 7, "odd": 8, "fuzz": 9, "lone": 10, "m": 11, "cid": 12, "bad-cid": 13}
TYPE = 3  # the request's own type (selector >= 3)


class seed:
    def __init__(self, profile=0, mode=SQLITE):
        self.b = bytearray([profile, mode])

    def op(self, code, slot=0, *args):
        self.b += bytes([code, slot, *args])
        return self

    def attach(self, s):
        return self.op(0, s)

    def detach(self, s):
        return self.op(1, s)

    def hello(self, s, nick="ann", token_of=None, odd_type=None):
        t = 200 if token_of is None else token_of  # a slot below 128: its welcome token
        kind = [TYPE] if odd_type is None else [odd_type, 0] if odd_type == 1 else [odd_type]
        return self.op(2, s, *kind, NICKS[nick], t, 0)

    def join(self, s, room="r0", since=None):
        # since: None, or (slot whose view to start from, selector): 8 = its last id,
        # 3 = one less, 4 = one more, 6 = far ahead, 1 = zero.
        if since is None:
            return self.op(3, s, TYPE, ROOMS[room], 0, 0)
        return self.op(3, s, TYPE, ROOMS[room], 1, since[0], since[1], 0)

    def leave(self, s, room="r0"):
        return self.op(4, s, TYPE, ROOMS[room], 0)

    def say(self, s, room="r0", text="hi", ref="m", fuzz=b"", cid=0):
        out = [TYPE, ROOMS[room], TEXTS[text]]
        if text == "fuzz":
            out += [len(fuzz), *fuzz]
        if text == "odd":
            out += [6]
        out += [REFS[ref]]
        if ref == "m":
            out += [7]
        if ref == "cid":  # the ref's byte, then the cid's (c0..c7)
            out += [7, cid]
        if ref == "bad-cid":
            out += [cid]
        if ref == "odd":
            out += [5]
        if ref == "fuzz":
            out += [len(fuzz), *fuzz]
        return self.op(5, s, *out, 1)

    # The private requests (opcode 6): a sub-type, then `with` as another slot's name (slot 1
    # or 3: the selector byte must be odd), then the request's own fields.
    def dm(self, s, with_slot, text="hi"):
        return self.op(6, s, 0, TYPE, with_slot, TEXTS[text], REFS[None], 0)

    def conversation(self, s, with_slot, since=None):  # since: None or a small id
        if since is None:
            return self.op(6, s, 1, TYPE, with_slot | 8, 0)
        return self.op(6, s, 1, TYPE, with_slot, since + 1, 0)

    def read(self, s, with_slot, id):
        return self.op(6, s, 2, TYPE, with_slot, id + 1, 0)

    def conversations(self, s):
        return self.op(6, s, 3, TYPE, 0, 0)

    def dm_history(self, s, with_slot):
        return self.op(6, s, 4, TYPE, with_slot | 8, 0)

    def history(self, s, room="r0", before=None, limit=None):
        b = (1 if before is not None else 0) | (2 if limit is not None else 0)
        out = [TYPE, ROOMS[room], b]
        if before is not None:
            out += [before[0], before[1]]
        if limit is not None:
            out += [limit + 1]
        return self.op(7, s, *out, 0)

    def typing(self, s, room="r0"):
        return self.op(8, s, TYPE, ROOMS[room], 0)

    def rooms(self, s):
        return self.op(9, s, TYPE, 0)

    def raw(self, s, text):
        assert len(text) <= 200
        return self.op(10, s, len(text), *text)

    def binary(self, s):
        return self.op(11, s)

    def clock(self, step):  # 0: 1 ms, 2: 200 ms, 4: 2 s, 6: 1 min, 7: 1 h
        return self.op(12, 0, step)

    def complete(self, index=0, how=3):  # how: see fake_store::run (0 fails, 3 succeeds)
        return self.op(13, 0, index, how)

    def pump(self):
        return self.op(14)

    def feed(self, room=0, lose=False):
        return self.op(15, 0, room, 0 if lose else 1)

    def remote(self, room=0, skip=False, nick_ann=False):
        return self.op(16, 0, room | (0x60 if skip else 0) | (0x80 if nick_ann else 0))

    def flood(self, room=0):  # 1001 messages from other nodes, published at once
        return self.op(16, 0, room | 0x40)

    def resync(self, lose_queued=False):
        return self.op(17, 0, 1 if lose_queued else 0)

    def mode(self, m):
        return self.op(18, 0, m)

    def prune(self, room=0, keep=1):
        return self.op(19, 0, room | ((keep - 1) << 4))

    def presence(self, room=0, joined=True, zed=True):
        return self.op(20, 0, room | (0x10 if zed else 0) | (0x20 if joined else 0))

    def refuse_droppable(self, s):
        return self.op(21, s)

    def stale(self, pick=0):
        return self.op(22, 0, pick)


def seeds():
    out = {}
    s = seed()
    out["basic"] = s.hello(0).join(0).say(0).pump().history(0).rooms(0).leave(0)
    s = seed()
    out["two_clients"] = (s.hello(0).hello(1, "bob").join(0).join(1).say(0).typing(1)
                          .dm(0, 1).pump().say(1, ref="max").pump().detach(1).rooms(0))
    s = seed(mode=0)
    out["all_queued"] = (s.hello(0).hello(1, "bob").join(0).join(1).complete(1).complete(0)
                         .complete(0).complete(0).say(0).say(1).complete(1).feed().complete(0)
                         .feed().pump())
    s = seed()
    out["resume"] = (s.hello(0).hello(1, "bob").join(0).join(1).say(0).say(0).say(0).pump()
                     .detach(1).say(0).pump().hello(1, "bob").join(1, since=(1, 8)).pump())
    s = seed(profile=TIGHT)
    out["resume_too_old"] = (s.hello(0).join(0).say(0).say(0).say(0).say(0).say(0).say(0)
                             .pump().hello(1, "bob").join(1, since=(1, 1)).join(1, since=(0, 6)))
    s = seed()
    out["feed_lost_resync"] = (s.hello(0).join(0).say(0).say(0).say(0).complete(0).feed(lose=True)
                               .complete(0).complete(0).feed().feed().resync())
    s = seed()
    out["remote_gaps"] = (s.hello(0).join(0).remote().remote(skip=True).remote().feed()
                          .feed(lose=True).feed().remote().feed())
    s = seed()
    out["takeover"] = (s.hello(0).join(0).join(0, "r1").hello(1, "ann", token_of=0).say(0)
                       .join(1).say(1).pump().detach(0))
    s = seed()
    out["wrong_token"] = s.hello(0).hello(1, "Ann").hello(1, "ann", token_of=1).hello(1, "bob")
    s = seed(profile=RATE)
    for _ in range(45):
        s.rooms(0)
    out["flood"] = s.rooms(0).binary(0).detach(0)
    s = seed(profile=RATE)
    s.hello(0)
    for _ in range(25):
        s.binary(0)
    out["binary_flood"] = s.clock(7).binary(0)
    s = seed(mode=DOWN)
    out["store_down"] = s.hello(0).join(0).rooms(0).mode(SQLITE).join(0).mode(DOWN).say(0).history(0)
    s = seed(profile=TIGHT)
    out["tight_limits"] = (s.hello(0).hello(1, "bob").hello(2, "cy").join(0).join(0, "r1")
                           .join(0, "r2").join(1).join(2).join(1, "r2").join(1, "a-b_c")
                           .say(0, text="max").say(0, text="over").say(0, ref="max")
                           .say(0, ref="over").pump())
    s = seed()
    out["prune"] = (s.hello(0).join(0).say(0).say(0).say(0).pump().prune(0, 1)
                    .hello(1, "bob").join(1, since=(0, 1)).history(1, before=(0, 1)))
    s = seed()
    out["remote_presence"] = (s.presence().hello(0).join(0).presence().presence(joined=False)
                              .mode(MEMBERS_QUEUED | READS_AT_ONCE).join(0, "r1")
                              .presence(1).complete())
    s = seed()
    out["raw_text"] = (s.hello(0).raw(0, b"not json").raw(0, b"[1,2]").raw(0, b"\xff\xfe{}")
                       .raw(0, b'{"type":"say","room":"r0","text":"x"}')
                       .raw(0, b'{"type":"join","room":"r0","since":1e400}'))
    s = seed()
    s.hello(0).join(0)
    for ref in REFS:
        s.say(0, ref=ref, fuzz=b"\xc3\xa9\xc3")
    out["refs"] = s.pump()
    s = seed()
    s.hello(0).join(0)
    for text in TEXTS:
        s.say(0, text=text, fuzz=b"\xf0\x9f\x98")
    out["texts"] = s.pump()
    s = seed(mode=SNAPSHOT)
    out["snapshot"] = (s.hello(0).join(0).remote().complete().remote().feed().feed().complete()
                       .complete().say(0).complete().feed())
    s = seed()
    out["append_outcomes"] = (s.hello(0).join(0).say(0).say(0).say(0).say(0)
                              .complete(0, 0).complete(0, 1).complete(0, 2).complete(0, 0x83)
                              .feed().feed().feed().pump())
    s = seed()
    out["typing_dropped"] = (s.hello(0).hello(1, "bob").join(0).join(1).refuse_droppable(1)
                             .typing(0).clock(4).typing(0).refuse_droppable(1).typing(0)
                             .clock(4).typing(0))
    s = seed()
    out["history_pages"] = (s.hello(0).join(0).say(0).say(0).say(0).pump()
                            .history(0, before=(0, 8), limit=2).history(0, limit=0)
                            .history(0, limit=6).history(0, before=(0, 6)))
    s = seed()
    out["stale_ids"] = s.hello(0).detach(0).stale(0).stale(1).hello(0).stale(0)
    s = seed()
    out["nicks"] = (s.hello(0, " ann").hello(0, "ann ").hello(0, "zwsp").hello(0, "rlo")
                    .hello(0, "").hello(0, "long").hello(0, "newline").hello(0, "fffd")
                    .hello(0, "32e").hello(0, "dee"))
    s = seed()
    out["hello_first"] = s.join(0).say(0).rooms(0).hello(0, odd_type=1).hello(0, odd_type=2)
    s = seed()
    out["rooms_validated"] = (s.hello(0).join(0, "").join(0, "no room").join(0, "e-acute")
                              .join(0, "long").join(0, "R0").leave(0, "r0").leave(0, "r1"))
    s = seed(mode=0)
    out["leave_while_opening"] = (s.hello(0).join(0).leave(0).detach(0).complete().hello(1)
                                  .join(1).complete().complete().complete())
    s = seed(mode=APPENDS_AT_ONCE | READS_AT_ONCE | FEED_WITH_DONE)
    out["at_once"] = s.hello(0).hello(1, "bob").join(0).join(1).say(0).say(1).rooms(1)
    s = seed()
    out["rejoin"] = (s.hello(0).join(0).say(0).pump().join(0).join(0, since=(0, 8))
                     .join(0, since=(0, 4)).say(0).pump())
    s = seed(mode=0)
    out["fill_fails"] = (s.hello(0).join(0).complete().complete().complete().remote().remote()
                         .feed(lose=True).feed().complete(0, 0).remote().feed().pump())
    s = seed(mode=0)
    out["history_fails"] = (s.hello(0).join(0).complete().complete().complete(0, 0)
                            .history(0).rooms(0).complete(0, 0).complete(0, 0))
    s = seed()
    out["detach_in_flight"] = (s.hello(0).hello(1, "bob").join(0).join(1).say(0).say(1)
                               .mode(0).history(0).rooms(1).detach(0).detach(1).pump())
    s = seed(profile=FLOODS, mode=MEMBERS_QUEUED | READS_AT_ONCE)
    out["too_far_behind"] = (s.hello(0).hello(1, "bob").join(1).complete().join(0).flood()
                             .say(0).rooms(0).complete().say(1).pump())
    # Findings of this fuzzer, fixed: they stay as regressions.
    s = seed(mode=SNAPSHOT)  # a room opens past a gap whose fill answers at once, or fails at once
    out["regression_open_past_gap"] = (s.hello(0).join(0).remote().remote().feed(lose=True).feed()
                                       .mode(SQLITE).complete(0))
    s = seed(mode=SNAPSHOT)
    out["regression_open_past_gap_down"] = (s.hello(0).join(0).remote().remote()
                                            .feed(lose=True).feed().mode(DOWN).complete(0))
    s = seed(mode=MEMBERS_QUEUED | READS_AT_ONCE)  # join, leave, join: the first answer is stale
    out["regression_stale_join_answer"] = (s.hello(1, "bob").join(1).complete(0).hello(0).join(0)
                                           .leave(0).remote().feed().join(0).complete(0)
                                           .complete(0).remote().feed())
    s = seed(mode=0)  # two joins' histories answered in the other order
    out["regression_joins_answered_swapped"] = (s.hello(0).join(0).complete().remote().feed()
                                                .join(0).complete(1))
    s = seed(mode=MEMBERS_QUEUED)  # the ack of a say made while the join history is read
    out["regression_ack_after_held_message"] = (s.hello(0).join(0).complete(0).say(0).complete(0)
                                                .complete(0, 0x83))
    s = seed(mode=MEMBERS_QUEUED)  # an ack held behind the join history, and a join again
    out["regression_ack_kept_by_rejoin"] = (s.hello(0).join(0).complete(0).say(0).complete(0)
                                            .complete(0, 0x83).join(0).complete(0).complete(0)
                                            .complete(0))
    s = seed()  # acknowledged before published, then the sender leaves
    out["regression_room_freed_after_ack"] = (s.hello(0).join(0).say(0).complete(0, 3).leave(0)
                                              .feed())
    # Two sessions of one signed-in user: one name, one presence; a guest cannot write to
    # them privately nor take the name, with or without a session's token.
    s = seed(profile=SIGNED)
    out["signed_in_sessions"] = (s.hello(2).hello(3).hello(0, "bob").join(2).join(3).join(0)
                                 .typing(2).say(3).pump().dm(0, 3).dm(2, 1).leave(2)
                                 .typing(3).hello(1, "ann", token_of=2).detach(3).rooms(0)
                                 .detach(2).hello(1, "ann"))
    # Conversations between ann (two sessions) and bob: stored, to every session of both, resumed,
    # read on one session and synced; bob goes and comes back to an unread message.
    s = seed(profile=SIGNED | BOB)
    out["conversations"] = (s.hello(2).hello(3).hello(1, "bob").join(2).join(1).dm(2, 1).pump()
                            .dm(1, 3).pump().conversation(3, 1, since=0).read(3, 1, 2)
                            .read(2, 1, 1).conversations(2).dm_history(1, 3).detach(1).dm(3, 1)
                            .pump().hello(1, "bob").conversations(1).conversation(1, 3)
                            .read(1, 3, 9).dm(1, 1).leave(2))
    s = seed(profile=SIGNED | BOB, mode=0)  # every answer late: welcomes wait for the store
    out["conversations_queued"] = (s.hello(2).dm(2, 1).hello(1, "bob").complete(0).complete(0)
                                   .dm(2, 1).conversation(1, 3).complete(0).complete(0).feed()
                                   .complete(0).resync().pump())
    # ann renamed (shows "Annie"): bob's conversation with her, her rooms and read marks are her
    # account's, whichever name either side writes.
    s = seed(profile=SIGNED | BOB | RENAMED)
    out["renamed_user"] = (s.hello(2).hello(3).hello(1, "bob").join(2).join(1).dm(1, 3).pump()
                           .dm(2, 1).pump().conversation(1, 3).read(1, 3, 2).detach(2).detach(3)
                           .dm(1, 3).pump().hello(3).conversations(3).conversation(3, 1, since=0)
                           .rooms(3).leave(1))
    s = seed()
    # Client ids (issue 14): a resend of one cid, another user's same cid, refused cids.
    out["cids"] = (s.hello(0).hello(1, "bob").join(0).join(1).say(0, ref="cid", cid=1).pump()
                   .say(0, ref="cid", cid=1).say(1, ref="cid", cid=1).say(0, ref="bad-cid", cid=0)
                   .say(0, ref="bad-cid", cid=1).say(0, ref="bad-cid", cid=2)
                   .say(0, ref="bad-cid", cid=3).say(0, text="over", ref="cid", cid=2).pump())
    return out


# Inputs that break a rule of the hub as it stands (each is a finding of the fuzzer): they join
# the corpus once the hub is fixed, not before, or the replay test would fail.
def findings():
    out = {}
    # Joining again (without since) while the first join's history is still being read drops
    # the held messages; the new history is only the latest join_history (2 with TIGHT, 50 by
    # default), so an earlier one of the client's own says is never shown, yet its ack comes.
    s = seed(profile=TIGHT, mode=MEMBERS_QUEUED | READS_AT_ONCE | APPENDS_AT_ONCE | FEED_WITH_DONE)
    out["ack_without_message_after_rejoin"] = (s.hello(0).join(0).say(0).say(0).say(0)
                                               .mode(READS_AT_ONCE).join(0))
    # A failed write leaves a gap, the fill for it fails, nothing retries: the message after the
    # gap, and its ack, never come.
    s = seed(mode=0)
    out["fill_never_retried"] = (s.hello(0).join(0).complete().complete().say(0).say(0)
                                 .complete(0, 1).complete(0, 3).feed().complete(0, 0))
    return out


def main():
    # chat_hub_seeds.py [DIR]: the seeds, into the corpus by default.
    # chat_hub_seeds.py --findings DIR: the findings' inputs.
    args = sys.argv[1:]
    which = seeds
    prefix = "seed_"
    if args and args[0] == "--findings":
        which, prefix, args = findings, "finding_", args[1:]
        if not args:
            sys.exit("--findings needs a directory")
    target = args[0] if args else os.path.join(os.path.dirname(__file__), "corpus", "chat_hub")
    os.makedirs(target, exist_ok=True)
    for name, s in which().items():
        with open(os.path.join(target, prefix + name), "wb") as f:
            f.write(bytes(s.b))


if __name__ == "__main__":
    main()
