package token

// SetTouchMemory lowers the bound of the grant ids v's writer remembers;
// call it before Start.
func (v *Verifier) SetTouchMemory(n int) { v.memory = n }

// Remembered is how many grant ids v's writer remembers having written.
func (v *Verifier) Remembered() int { return int(v.remembered.Load()) }
