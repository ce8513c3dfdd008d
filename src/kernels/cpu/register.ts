export interface NativeStatus {
  loaded: boolean;
  reason?: string;
  threads?: number;
}

export function registerNativeCpuKernels(): NativeStatus {
  return { loaded: false, reason: 'not built yet' };
}
