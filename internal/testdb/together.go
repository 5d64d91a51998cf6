package testdb

import "sync"

// Together runs fns concurrently, released at the same moment, and waits
// for all of them: the start line of the race tests.
func Together(fns ...func()) {
	var start, done sync.WaitGroup
	start.Add(1)
	for _, fn := range fns {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn()
		}()
	}
	start.Done()
	done.Wait()
}
