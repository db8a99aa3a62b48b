# EOS Fleet agent: append to the EOS description's config.sh (bash, `set -ex`), after the
# flakes and storage setup. kiwi has already copied the root overlay (image/kiwi/stage-overlay.sh).

#======================================
# EOS Fleet agent and commit gate
#--------------------------------------
# The overlay is copied with the builder's ownership: make it root's.
chown -R root:root /etc/eos-fleet /usr/lib/eos-fleet /usr/libexec/eos-fleet \
    /usr/bin/eos-fleet-agent \
    /usr/lib/systemd/system/eos-fleet-agent.service \
    /usr/lib/systemd/system/eos-fleet-commit-gate.service \
    /usr/lib/systemd/system/update_commit.service.d
# Holds the enrollment token.
chmod 0600 /etc/eos-fleet/agent.yml
# The gate is harmless without update_commit (profile Static): it only runs with COMMIT_UPDATE.
systemctl enable eos-fleet-agent.service eos-fleet-commit-gate.service
