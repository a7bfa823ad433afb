#!/usr/bin/env python3
"""A mixed btrfs workload for crash states: usage: workload.py MNT SECONDS SEED [features...]
features: quota, balance (a background thread balancing), snap (snapshots made and deleted),
small (files a sixth the size, of low-entropy data, for a 256 MiB device and a log that
compresses), nocow (a NOCOW directory), send (read-only snapshots sent and received back),
resize (the balance thread also shrinks and regrows the filesystem), cdefrag (defragment with
zstd compression), spare (the balance thread also adds the device $SPARE_DEV and removes it)."""
import os, random, subprocess, sys, threading, time

mnt, secs, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
feat = set(sys.argv[4:])
rng = random.Random(seed)
stop = time.time() + secs

def sh(*cmd):
    return subprocess.run(cmd, capture_output=True).returncode

subs = []
for i in range(3):
    p = os.path.join(mnt, f"sv{i}")
    sh("btrfs", "subvolume", "create", p)
    subs.append(p)
if "quota" in feat:
    sh("btrfs", "quota", "enable", mnt)
    sh("btrfs", "qgroup", "create", "1/100", mnt)
if "nocow" in feat:
    # A directory whose new files are NOCOW and so NODATASUM.
    d = os.path.join(subs[0], "nocow"); os.makedirs(d, exist_ok=True); sh("chattr", "+C", d); subs.append(d)
dirs = list(subs) + [mnt]
files, snaps, held = [], [], []

def pick_dir():
    return rng.choice(dirs)

def newname(d):
    return os.path.join(d, f"f{rng.randrange(1 << 30):x}")

SMALL = "small" in feat

def payload(size):
    if SMALL:
        # Low entropy, so the write log compresses; distinct per write, so no two extents match.
        word = f"{rng.randrange(1 << 40):x}:".encode()
        return (word * (size // len(word) + 1))[:size]
    return os.urandom(size) if rng.random() < 0.7 else bytes([rng.randrange(256)]) * size

def write(path, size, append=False, sync=False):
    with open(path, "ab" if append else "wb") as f:
        f.write(payload(size))
        if sync:
            f.flush(); os.fsync(f.fileno())

def live():
    global files
    files = [f for f in files if os.path.lexists(f)]
    return files

def op():
    r = rng.random()
    fs = live()
    try:
        if r < 0.25 or not fs:
            p = newname(pick_dir())
            size = rng.choice([rng.randrange(1, 3000), rng.randrange(4096, 200000), rng.randrange(200000, 3000000)])
            if SMALL:
                size //= 6
            write(p, size, sync=rng.random() < 0.3)
            files.append(p)
        elif r < 0.35:
            p = rng.choice(fs); write(p, rng.randrange(1, 100000), append=True, sync=rng.random() < 0.5)
        elif r < 0.40:
            p = rng.choice(fs); os.truncate(p, rng.randrange(0, max(1, os.path.getsize(p))))
        elif r < 0.45:
            p = rng.choice(fs); n = os.path.getsize(p)
            if n > 8192:
                sh("fallocate", "-p", "-o", str(rng.randrange(0, n // 4096) * 4096), "-l", str(rng.randrange(1, 16) * 4096), p)
        elif r < 0.48:
            p = newname(pick_dir()); sh("fallocate", "-l", str(rng.randrange(1, 64) * 4096), p); files.append(p)
        elif r < 0.55:
            p = rng.choice(fs); q = newname(os.path.dirname(p))
            sh("cp", "--reflink=always", p, q); files.append(q)
        elif r < 0.62:
            p = rng.choice(fs); d = os.path.dirname(p)
            q = newname(d); os.rename(p, q); files.append(q)
        elif r < 0.66:
            p = rng.choice(fs); q = newname(os.path.dirname(p)); os.link(p, q); files.append(q)
        elif r < 0.76:
            os.unlink(rng.choice(fs))
        elif r < 0.79:
            # an orphan: unlinked while open (left open across a crash)
            p = rng.choice(fs); held.append(open(p, "rb")); os.unlink(p)
            if len(held) > 20:
                held.pop(0).close()
        elif r < 0.82:
            d = os.path.join(pick_dir(), f"d{rng.randrange(1 << 20):x}")
            os.makedirs(d, exist_ok=True); dirs.append(d)
        elif r < 0.85:
            p = rng.choice(fs); os.setxattr(p, "user.k" + str(rng.randrange(10)), payload(rng.randrange(1, 300)))
        elif r < 0.87:
            p = rng.choice(fs); q = newname(pick_dir()); os.symlink(p, q)
        elif r < 0.90:
            p = rng.choice(fs); fd = os.open(p, os.O_RDONLY); os.fsync(fd); os.close(fd)
        elif r < 0.93 and "snap" in feat:
            s = os.path.join(mnt, f"snap{rng.randrange(1 << 20):x}")
            sh("btrfs", "subvolume", "snapshot", rng.choice(subs), s); snaps.append(s)
        elif r < 0.96 and "snap" in feat and snaps:
            s = snaps.pop(rng.randrange(len(snaps))); sh("btrfs", "subvolume", "delete", s)
        elif r < 0.98:
            d = pick_dir()
            for i in range(rng.randrange(20, 200)):
                p = os.path.join(d, f"s{rng.randrange(1 << 30):x}"); write(p, rng.randrange(0, 2000)); files.append(p)
        elif r < 0.99 and "send" in feat and snaps:
            # A read-only snapshot sent and received back into the filesystem.
            s = os.path.join(mnt, f"ro{rng.randrange(1 << 20):x}")
            if sh("btrfs", "subvolume", "snapshot", "-r", rng.choice(subs[:3]), s) == 0:
                dest = os.path.join(mnt, "recv"); os.makedirs(dest, exist_ok=True)
                subprocess.run(f"btrfs send -q {s} | btrfs receive -q {dest}", shell=True, capture_output=True)
                snaps.append(s)
        else:
            sh("btrfs", "filesystem", "defragment", "-r", *(["-czstd"] if "cdefrag" in feat and rng.random() < 0.5 else []), rng.choice(subs))
    except OSError:
        pass
    # keep the filesystem from filling up
    st = os.statvfs(mnt)
    if st.f_bavail * st.f_frsize < (100 if SMALL else 300) << 20:
        for p in rng.sample(live(), len(live()) // 2):
            try: os.unlink(p)
            except OSError: pass

spare_in = False

def balancer():
    global spare_in
    while time.time() < stop:
        if "spare" in feat and rng.random() < 0.4:
            # Adding a device writes its superblock at the next commit; removing one moves its
            # chunks away, commits without its device item, then wipes its superblocks.
            if spare_in:
                spare_in = sh("btrfs", "device", "remove", os.environ["SPARE_DEV"], mnt) != 0
            else:
                spare_in = sh("btrfs", "device", "add", "-f", os.environ["SPARE_DEV"], mnt) == 0
            continue
        if "resize" in feat and rng.random() < 0.3:
            # Shrinking relocates whatever lies past the new end, then grows back.
            sh("btrfs", "filesystem", "resize", rng.choice(["-64m", "-128m", "max"]), mnt)
            continue
        sh("btrfs", "balance", "start", rng.choice(["-dusage=60", "-musage=60", "-dusage=90", "-d", "-m"]), "-f", mnt)
        time.sleep(rng.random() * 3)

t = None
if "balance" in feat:
    t = threading.Thread(target=balancer, daemon=True); t.start()
while time.time() < stop:
    op()
if t:
    sh("btrfs", "balance", "cancel", mnt)
    t.join()
for f in held:
    f.close()
