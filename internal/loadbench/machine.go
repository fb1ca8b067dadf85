package loadbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the run happened.
type Machine struct {
	CPUs       int     `json:"nproc"`
	CPUModel   string  `json:"cpu_model"`
	MemoryMiB  int     `json:"memory_mib"`
	GoVersion  string  `json:"go_version"`
	OS         string  `json:"os"`
	LoadBefore float64 `json:"load_avg_1m_before"`
	LoadAfter  float64 `json:"load_avg_1m_after"`
}

func (m Machine) String() string {
	return fmt.Sprintf("%d CPUs (%s), %d MiB, %s %s; 1-minute load average %.2f before, %.2f after",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.GoVersion, m.OS, m.LoadBefore, m.LoadAfter)
}

// describeMachine reads the machine's CPUs, memory and load from /proc
// (what is missing stays zero or empty).
func describeMachine() Machine {
	m := Machine{CPUs: onlineCPUs(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUModel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, ok := statusField(b, "MemTotal:"); ok {
			m.MemoryMiB = int(kb / 1024)
		}
	}
	m.LoadBefore = loadAverage()
	return m
}

// onlineCPUs counts the machine's CPUs, whatever this process's affinity.
func onlineCPUs() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "cpu") && len(line) > 3 && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	if n == 0 {
		return runtime.NumCPU()
	}
	return n
}

// loadAverage is the 1-minute load average, or 0.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}

// statusField returns the number after key in a /proc status-style file
// ("VmRSS:   12345 kB").
func statusField(b []byte, key string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return 0, false
			}
			v, err := strconv.ParseInt(fields[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// rss returns a process's current and peak resident set size in MiB.
func rss(pid int) (current, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	cur, ok := statusField(b, "VmRSS:")
	if !ok {
		return 0, 0, fmt.Errorf("pid %d: no VmRSS", pid)
	}
	hwm, _ := statusField(b, "VmHWM:")
	return float64(cur) / 1024, float64(hwm) / 1024, nil
}

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux
// the Go toolchain supports.
const clockTicks = 100

// processCPU is the CPU time (user + system) a process has used, in
// seconds (pid 0: this process); 0 when it cannot be read (an exited
// process).
func processCPU(pid int) float64 {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after its closing parenthesis. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// machineBusy is the CPU time the whole machine has spent busy (anything
// but idle and iowait; steal included, since it is time another guest of
// the host took from us), in seconds, summed over all CPUs.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, s := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		v, _ := strconv.ParseFloat(s, 64)
		busy += v
	}
	return busy / clockTicks
}
