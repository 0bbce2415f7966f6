#!/bin/busybox sh
# /init of the agent VM's initramfs (built by up.sh): Debian cloud kernel + static busybox +
# the real qemu-guest-agent. It mounts the ext4 disk /dev/vda on /mnt/data so that
# guest-fsfreeze-freeze has one real filesystem to freeze. Lines starting "LABGUEST:" go to the
# serial console log ($LAB_DIR/hosts/local/log/lab-agent-console.log).
/bin/busybox --install -s /bin
export PATH=/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

# Order matters: each module needs the ones before it (there is no modprobe/depmod here).
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio_console; do
  insmod "/lib/modules/$m.ko" || echo "LABGUEST: insmod $m failed"
done

# No udev: create the /dev/virtio-ports/<name> links qemu-ga looks for.
mkdir -p /dev/virtio-ports
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -e /sys/class/virtio-ports/vport0p1/name ] && break
  sleep 0.1
done
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] && ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
done

for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -b /dev/vda ] && break
  sleep 0.1
done
if mount -t ext4 /dev/vda /mnt/data; then
  echo "LABGUEST: mounted /dev/vda on /mnt/data"
else
  echo "LABGUEST: cannot mount /dev/vda"
fi

/usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run &
echo "LABGUEST: qemu-ga started"

# A serial login prompt, printed last so that it means "booted": test-restore's console probe
# waits for `login:`. It is only a prompt (no accounts): a line typed at it is refused, the way
# getty + login would refuse an unknown user, and the prompt comes back.
hostname lab-agent
printf '\n%s login: ' "$(hostname)"
# PID 1 must never exit (panic=-1 would reboot the VM). The serial line has no input when it is a
# file (the lab's default): read then blocks for good.
while true; do
  if read -r _ </dev/ttyS0; then printf '\nLogin incorrect\n\n%s login: ' "$(hostname)"; else sleep 3600; fi
done
