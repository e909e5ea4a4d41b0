package pluginproc

// kill stops the plugin if it runs; any later Get fails instead of starting
// another, as after KillAll, which the host calls on its way out and which
// a test can call only once. Safe to call at any time, more than once; it
// never waits for a restart's backoff.
func (l *Lazy) kill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	release(l.client, l.sockets)
	l.client, l.svc, l.sockets = nil, nil, nil
}
