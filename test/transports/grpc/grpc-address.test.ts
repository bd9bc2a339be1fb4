import { describe, expect, it } from 'vitest';
import { parseListenAddress, parseServiceTarget } from '../../../src/transports/grpc/grpc-address.js';

describe('parseServiceTarget', () => {
  it.each([
    ['grpc://127.0.0.1:50051', 'ipv4:127.0.0.1:50051'],
    ['grpc://10.0.0.5:1,10.0.0.6:2', 'ipv4:10.0.0.5:1,10.0.0.6:2'],
    ['grpc://localhost:50051', 'ipv4:127.0.0.1:50051'],
    ['grpc://localhost:1,localhost:2', 'ipv4:127.0.0.1:1,127.0.0.1:2'],
    ['grpc://[::1]:50051', 'ipv6:[::1]:50051'],
    ['grpc://user-service.internal:50051', 'dns:///user-service.internal:50051'],
  ])('turns %s into the grpc-js target %s', (url, target) => {
    expect(parseServiceTarget(url)).toMatchObject({ url, target });
  });

  it.each([
    ['http://127.0.0.1:1', /expects "local" or grpc:\/\//],
    ['grpc://127.0.0.1', /expects grpc:\/\/host:port/],
    ['grpc://127.0.0.1:99999', /expects grpc:\/\/host:port/],
    ['grpc://a.example:1,b.example:2', /IP addresses of one family, or one DNS name/],
  ])('refuses %s with a message', (url, message) => {
    expect(parseServiceTarget(url)).toMatch(message);
  });
});

describe('parseListenAddress', () => {
  it('reads host and port, including port 0 and IPv6', () => {
    expect(parseListenAddress('0.0.0.0:50051')).toEqual({ host: '0.0.0.0', port: 50_051 });
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('[::1]:7')).toEqual({ host: '::1', port: 7 });
    expect(parseListenAddress('50051')).toMatch(/expects host:port/);
  });
});
