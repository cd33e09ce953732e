package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	importformatv1 "github.com/licensor/licensor/plugins/proto/importformat/v1"
)

// ImportFormat reads files of one format into import records, named by the
// field names of the built-in CSV import (docs/features.md#import-and-export).
// Validation, preview and the import itself are Licensor's.
type ImportFormat interface {
	Configurable
	// Parse reads file.Body and writes the file's columns (once, first)
	// and records to out, in file order. Return an error only when the
	// file as a whole is unreadable; a bad row is a record with Error set.
	Parse(ctx context.Context, file ImportFile, out ImportSink) error
}

// ImportFile is the file to read.
type ImportFile struct {
	Filename string
	// Target is what is being imported: "customers" or "licenses".
	Target string
	// Size is the file's size in bytes, -1 when unknown.
	Size int64
	Body io.Reader
}

// ImportRecord is one row of the file.
type ImportRecord struct {
	// Line is the 1-based row (line) number, for messages.
	Line int
	// Fields are the row's values by built-in field name.
	Fields map[string]string
	// Error says why the row could not be read.
	Error string
}

// ImportSink receives what Parse reads.
type ImportSink interface {
	// Columns reports the file's column names as read (its header row).
	Columns(names []string) error
	// Record reports one row.
	Record(r ImportRecord) error
}

// ServeImportFormat serves f as an import format plugin described by m.
func ServeImportFormat(m Manifest, f ImportFormat) {
	serve(m, KindImportFormat, &importFormatPlugin{impl: f})
}

type importFormatPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl ImportFormat
}

func (p *importFormatPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	importformatv1.RegisterImportFormatServer(s, &importFormatServer{impl: p.impl})
	return nil
}

func (p *importFormatPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &ImportFormatClient{rpc: importformatv1.NewImportFormatClient(c)}, nil
}

type importFormatServer struct {
	importformatv1.UnimplementedImportFormatServer
	impl ImportFormat
}

func (s *importFormatServer) Configure(ctx context.Context, req *importformatv1.ConfigureRequest) (*importformatv1.ConfigureResponse, error) {
	fe, err := configure(ctx, s.impl, req.GetValues())
	if err != nil {
		return nil, err
	}
	return &importformatv1.ConfigureResponse{FieldErrors: fe}, nil
}

// Parse feeds the received chunks to the implementation through a pipe and
// sends its records back in batches.
func (s *importFormatServer) Parse(stream importformatv1.ImportFormat_ParseServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	header := first.GetHeader()
	if header == nil {
		return errors.New("importformat: the first message must be the file header")
	}
	pr, pw := io.Pipe()
	defer func() { _ = pr.Close() }()
	go func() {
		for {
			msg, err := stream.Recv()
			if err == io.EOF {
				_ = pw.Close()
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(msg.GetChunk()); err != nil {
				return // the implementation stopped reading
			}
		}
	}()
	out := &batchSink{send: stream.Send}
	file := ImportFile{Filename: header.GetFilename(), Target: header.GetTarget(), Size: header.GetSize(), Body: pr}
	if err := s.impl.Parse(stream.Context(), file, out); err != nil {
		return err
	}
	return out.flush()
}

// batchSink sends records 200 to a message.
type batchSink struct {
	send    func(*importformatv1.ParseResponse) error
	pending importformatv1.ParseResponse
}

func (b *batchSink) Columns(names []string) error {
	b.pending.Columns = append([]string(nil), names...)
	return nil
}

func (b *batchSink) Record(r ImportRecord) error {
	b.pending.Records = append(b.pending.Records, &importformatv1.Record{Line: int32(r.Line), Fields: r.Fields, Error: r.Error})
	if len(b.pending.Records) >= 200 {
		return b.flush()
	}
	return nil
}

func (b *batchSink) flush() error {
	if len(b.pending.Records) == 0 && len(b.pending.Columns) == 0 {
		return nil
	}
	msg := &importformatv1.ParseResponse{Columns: b.pending.Columns, Records: b.pending.Records}
	b.pending = importformatv1.ParseResponse{}
	return b.send(msg)
}

// ImportFormatClient is the host's end of an import format plugin.
type ImportFormatClient struct {
	rpc importformatv1.ImportFormatClient
}

// Configure sends the settings; refused values come back as FieldErrors.
func (c *ImportFormatClient) Configure(ctx context.Context, cfg Config) error {
	res, err := c.rpc.Configure(ctx, &importformatv1.ConfigureRequest{Values: cfg})
	if err != nil {
		return err
	}
	return fieldErrorsOrNil(res.GetFieldErrors())
}

// Parse streams file.Body to the plugin and passes what it reads to out.
// An error from out stops the call and is returned.
func (c *ImportFormatClient) Parse(ctx context.Context, file ImportFile, out ImportSink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Parse(ctx)
	if err != nil {
		return err
	}
	go func() {
		if err := sendFile(stream, file); errors.Is(err, errReadFile) {
			cancel() // the file could not be read: end the call
		}
	}()
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(msg.GetColumns()) > 0 {
			if err := out.Columns(msg.GetColumns()); err != nil {
				return err
			}
		}
		for _, r := range msg.GetRecords() {
			if err := out.Record(ImportRecord{Line: int(r.GetLine()), Fields: r.GetFields(), Error: r.GetError()}); err != nil {
				return err
			}
		}
	}
	// The plugin may answer before reading the whole file: the sender
	// then stops when ctx is cancelled on return, and its error does not
	// matter.
	return nil
}

var errReadFile = errors.New("importformat: read file")

func sendFile(stream importformatv1.ImportFormat_ParseClient, file ImportFile) error {
	header := &importformatv1.FileHeader{Filename: file.Filename, Target: file.Target, Size: file.Size}
	if err := stream.Send(&importformatv1.ParseRequest{Part: &importformatv1.ParseRequest_Header{Header: header}}); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := file.Body.Read(buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			if err := stream.Send(&importformatv1.ParseRequest{Part: &importformatv1.ParseRequest_Chunk{Chunk: chunk}}); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return stream.CloseSend()
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errReadFile, err)
		}
	}
}
